"""The language of an original title, as a BCP 47 tag for its `lang` attribute, so screen readers say it right.

The script of the title decides where it can (Hangul is Korean, kana is Japanese); the item's language
field decides among the languages that share a script (Han, Cyrillic, Latin). Plain data in, a tag out.
"""
from __future__ import annotations

import re
import unicodedata

# Language names as the catalog writes them (demo data, Letterboxd and Goodreads imports) to BCP 47 tags.
LANGUAGE_TAGS = {
    "arabic": "ar", "belarusian": "be", "bulgarian": "bg", "cantonese": "yue", "catalan": "ca", "chinese": "zh",
    "czech": "cs", "danish": "da", "dutch": "nl", "english": "en", "estonian": "et", "finnish": "fi",
    "french": "fr", "georgian": "ka", "german": "de", "greek": "el", "hebrew": "he", "hindi": "hi",
    "hungarian": "hu", "icelandic": "is", "indonesian": "id", "italian": "it", "japanese": "ja", "korean": "ko",
    "latin": "la", "mandarin": "zh", "norwegian": "no", "persian": "fa", "farsi": "fa", "polish": "pl",
    "portuguese": "pt", "romanian": "ro", "russian": "ru", "serbian": "sr", "slovak": "sk", "spanish": "es",
    "swedish": "sv", "tagalog": "tl", "thai": "th", "turkish": "tr", "ukrainian": "uk", "urdu": "ur",
    "vietnamese": "vi", "yiddish": "yi",
}
# Scripts that name one language whatever the item says.
SCRIPT_TAGS = {"HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "THAI": "th", "GEORGIAN": "ka", "GREEK": "el"}
# Scripts shared by several languages: the first of these the item's language names, else the first.
# Korean comes last for Han: a title in Han characters alone is rarely Korean, which writes titles in Hangul.
SHARED_SCRIPTS = {
    "CJK": ("zh", "ja", "yue", "ko"),
    "CYRILLIC": ("ru", "uk", "be", "bg", "sr"),
    "HEBREW": ("he", "yi"),
    "ARABIC": ("ar", "fa", "ur"),
    "DEVANAGARI": ("hi",),
}
SCRIPT_OF_NAME = re.compile(r"^(CJK|HANGUL|HIRAGANA|KATAKANA|CYRILLIC|HEBREW|ARABIC|DEVANAGARI|THAI|GEORGIAN|GREEK)\b")


def language_tags(language: str | None) -> list[str]:
    """The tags of an item's language field ("Korean, Japanese" → ["ko", "ja"]), unknown names left out."""
    names = re.split(r"[,/;]| and ", (language or "").lower())
    return [LANGUAGE_TAGS[n.strip()] for n in names if n.strip() in LANGUAGE_TAGS]


def scripts_of(text: str) -> set[str]:
    """The non-Latin scripts the letters of a text are written in ("LATIN" for the rest)."""
    scripts = set()
    for char in text:
        if not char.isalpha():
            continue
        match = SCRIPT_OF_NAME.match(unicodedata.name(char, ""))
        scripts.add(match.group(1) if match else "LATIN")
    return scripts


def title_language(title: str | None, language: str | None) -> str | None:
    """The lang tag for a title in another language than the page's English; None when English or unknown."""
    if not title:
        return None
    scripts = scripts_of(title)
    spoken = language_tags(language)
    for script, tag in SCRIPT_TAGS.items():
        if script in scripts:
            return tag
    for script, candidates in SHARED_SCRIPTS.items():
        if script in scripts:
            return next((t for t in candidates if t in spoken), candidates[0])
    # A Latin-script title: the item's first language other than English, if it names one.
    return next((t for t in spoken if t != "en"), None)
