"""Editing tags: renaming, merging one into another, deleting."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from afterimage.catalog.models import Item, SlugRedirect, Tag, item_tags, utcnow
from afterimage.catalog.slugs import change_slug, slugify, unique_slug
from afterimage.extensions import db
from afterimage.studio.blueprint import bp, commit
from afterimage.studio.forms import ConfirmForm, TagForm, TagMergeForm, family_choices
from recs.text import fold_accents


@bp.route("/tags")
def tags():
    """Every tag with its item count."""
    count = sa.func.count(item_tags.c.item_id)
    rows = db.session.execute(sa.select(Tag, count).outerjoin(item_tags).group_by(Tag.id).order_by(Tag.name_key)).all()
    return render_template("studio/tags.html", rows=rows)


def merge_form_for(tag: Tag) -> TagMergeForm:
    """The merge form, offering every other tag."""
    form = TagMergeForm(prefix="merge")
    form.target.choices = [SelectChoice(t.id, t.name) for t in db.session.scalars(
        sa.select(Tag).where(Tag.id != tag.id).order_by(Tag.name_key))]
    return form


def touch_items(items: list[Item]) -> None:
    """Mark items changed so their search text (built from tag names) is rebuilt on flush."""
    for item in items:
        item.updated_at = utcnow()


@bp.route("/tags/<int:tag_id>", methods=["GET", "POST"])
def tag_edit(tag_id: int):
    """Rename a tag (its old address keeps working), describe it, merge or delete it."""
    tag = db.get_or_404(Tag, tag_id)
    form = TagForm(obj=tag if request.method == "GET" else None)
    form.family.choices = family_choices(list(db.session.scalars(sa.select(Tag.family).distinct())))
    if request.method == "GET":
        form.family.data = tag.family or ""
    existing = None
    if form.validate_on_submit():
        name = " ".join(form.name.data.split())
        key = fold_accents(name)
        existing = db.session.scalar(sa.select(Tag).where(Tag.name_key == key, Tag.id != tag.id))
        if existing is not None:
            form.name.errors.append(f"A tag called {existing.name} already exists: merge into it instead.")
        else:
            renamed = name != tag.name
            tag.name, tag.name_key = name, key
            tag.family = form.family.data or None
            tag.description = (form.description.data or "").strip()
            new_slug = slugify(name) or "tag"
            if new_slug != tag.slug:
                change_slug(tag, unique_slug(Tag, new_slug, exclude_id=tag.id))
            if renamed:
                touch_items(tag.items)
            commit(f"Saved the tag {tag.name}.")
            return redirect(url_for("studio.tag_edit", tag_id=tag.id), 303)
    return render_template("studio/tag_form.html", tag=tag, form=form, merge_form=merge_form_for(tag),
                           existing=existing)


@bp.post("/tags/<int:tag_id>/merge")
def tag_merge(tag_id: int):
    """Move every item of this tag to another and delete it; its address redirects to the other."""
    source = db.get_or_404(Tag, tag_id)
    form = merge_form_for(source)
    if not form.validate_on_submit():
        flash("Choose the tag to merge into.", "error")
        return redirect(url_for("studio.tag_edit", tag_id=source.id), 303)
    target = db.get_or_404(Tag, form.target.data)
    items = list(source.items)
    for item in items:
        if target not in item.tags:
            item.tags.append(target)
        item.tags.remove(source)
    touch_items(items)
    db.session.execute(
        sa.update(SlugRedirect).where(SlugRedirect.entity == "tag", SlugRedirect.target_id == source.id)
        .values(target_id=target.id)
    )
    source_slug, source_name = source.slug, source.name
    db.session.delete(source)
    db.session.flush()
    db.session.add(SlugRedirect(entity="tag", old_slug=source_slug, target_id=target.id))
    commit(f"Merged {source_name} into {target.name}: {len(items)} item{'s' if len(items) != 1 else ''} moved.")
    return redirect(url_for("studio.tag_edit", tag_id=target.id), 303)


@bp.route("/tags/<int:tag_id>/delete", methods=["GET", "POST"])
def tag_delete(tag_id: int):
    """Ask first, then delete the tag; its items keep everything else."""
    tag = db.get_or_404(Tag, tag_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        items = list(tag.items)
        name = tag.name
        touch_items(items)
        db.session.execute(sa.delete(SlugRedirect).where(SlugRedirect.entity == "tag", SlugRedirect.target_id == tag.id))
        db.session.delete(tag)
        commit(f"Deleted the tag {name}; its {len(items)} item{'s' if len(items) != 1 else ''} keep everything else.")
        return redirect(url_for("studio.tags"), 303)
    return render_template("studio/confirm_delete.html", form=form, what=tag.name, kind="this tag",
                           consequences=f"It is removed from {len(tag.items)} items, which keep everything else.",
                           cancel=url_for("studio.tag_edit", tag_id=tag.id))
