"""Text normalisation shared by the recommender and the web app (slugs, search)."""

import re
import unicodedata

# Letters that carry no combining mark under NFKD but that readers still type without accents.
_UNMARKED_LETTERS = str.maketrans({
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ı": "i",
})

# Under NFKD, Latin, Greek and Cyrillic letters shed their accents as marks from this block;
# kana voicing marks and Indic signs live elsewhere and are kept ("ガ" must not become "カ").
_DIACRITICS = re.compile("[\u0300-\u036f]+")

# Runs of letters, digits and the combining marks some scripts spell words with (Indic vowel
# signs, Thai vowels, Arabic harakat), since Python's \w leaves those marks out.
_WORD_RUN = re.compile(
    r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f"
    r"\u0670\u06d6-\u06ed\u0900-\u0dff\u0e00-\u0e7f\u3099\u309a])+"
)

# The same runs for folded ASCII text, at two letters or more; most catalogs are mostly ASCII
# and this pattern runs about twice as fast as the one above.
_ASCII_WORD = re.compile(r"[a-z0-9]{2,}")

# Scripts written without spaces: a run of them becomes overlapping character pairs.
_UNSPACED_SCRIPT = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u31f0-\u31ff\uac00-\ud7af\u0e00-\u0e7f]+"
)


def fold_accents(text: str) -> str:
    """Return text casefolded with Latin/Greek/Cyrillic accents removed and other scripts kept."""
    if text.isascii():
        return text.casefold()
    # Decompose before casefolding, so compatibility letters ("𝓐", "Ⅻ") and accented ligatures ("ǽ")
    # reach their plain forms first; decompose again after, since casefolding can add marks ("İ").
    plain = unicodedata.normalize("NFKD", text).casefold().translate(_UNMARKED_LETTERS)
    folded = _DIACRITICS.sub("", unicodedata.normalize("NFKD", plain))
    return unicodedata.normalize("NFC", folded)


def _unspaced_pairs(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def is_unspaced(word: str) -> bool:
    """True when a word is written wholly in a script without spaces (its pairs are its words)."""
    return bool(word) and _UNSPACED_SCRIPT.fullmatch(word) is not None


def word_tokens(text: str, stop_words: frozenset[str] = frozenset(), whole_runs: bool = False) -> list[str]:
    """Split folded text into words; CJK, kana, Hangul and Thai runs become character pairs, and
    with `whole_runs` also the run itself when longer than a pair ("채식주의자" meets "채식주의자")."""
    if text.isascii():
        words = _ASCII_WORD.findall(text)
        return [word for word in words if word not in stop_words] if stop_words else words
    runs = _WORD_RUN.findall(text)
    if not _UNSPACED_SCRIPT.search(text):
        return [run for run in runs if len(run) > 1 and run not in stop_words]
    tokens = []
    for run in runs:
        if not _UNSPACED_SCRIPT.search(run):
            if len(run) > 1 and run not in stop_words:
                tokens.append(run)
            continue
        # A run can mix scripts ("godzilla映画"): spaced parts stay words, unspaced parts pair up.
        position = 0
        for match in _UNSPACED_SCRIPT.finditer(run):
            spaced = run[position : match.start()]
            if len(spaced) > 1 and spaced not in stop_words:
                tokens.append(spaced)
            tokens.extend(_unspaced_pairs(match.group()))
            if whole_runs and len(match.group()) > 2:
                tokens.append(match.group())
            position = match.end()
        spaced = run[position:]
        if len(spaced) > 1 and spaced not in stop_words:
            tokens.append(spaced)
    return tokens
