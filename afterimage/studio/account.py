"""Her account in the studio: signing in and out, changing the password."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.security import check_password_hash

from afterimage.accounts.auth import (
    SignInRefused, authenticate, client_address, current_author, end_session, set_password, start_session,
)
from afterimage.extensions import db
from afterimage.studio.blueprint import bp, safe_next
from afterimage.studio.forms import ChangePasswordForm, SignInForm


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Name and password; repeated failures are slowed down, then refused for a while."""
    if current_author() is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            author = authenticate(form.name.data, form.password.data, client_address())
        except SignInRefused as refused:
            flash(str(refused), "error")
            return render_template("studio/sign_in.html", form=form), 429
        if author is not None:
            start_session(author)
            flash(f"Welcome back, {author.name}.", "success")
            return redirect(safe_next(form.next.data), 303)
        flash("That name and password do not match an author account.", "error")
        status = 401
    return render_template("studio/sign_in.html", form=form), status


@bp.post("/sign-out")
def sign_out():
    """End this session everywhere: the row is deleted, so a copied cookie stops working."""
    end_session()
    flash("You are signed out.", "success")
    return redirect(url_for("public.home"), 303)


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    """Change the password; other sessions are signed out, this one starts afresh."""
    form = ChangePasswordForm()
    if form.is_submitted():
        form_ok = form.validate()
        author = current_author()
        # Checked with the other fields, so a wrong current password and a short new one show together.
        if form.current.data and not form.csrf_token.errors and not check_password_hash(
            author.password_hash, form.current.data
        ):
            form.current.errors.append("That is not your current password.")
        elif form_ok:
            set_password(author, form.new.data)
            db.session.commit()
            start_session(author)
            flash("Password changed. Other browsers were signed out.", "success")
            return redirect(url_for("studio.dashboard"), 303)
    return render_template("studio/password.html", form=form)
