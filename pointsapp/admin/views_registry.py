"""Registry pages: groups, households and villagers (list, search, view, edit, add, move, status)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..points.errors import Refused
from ..points.registry import Group, Household, Villager, VillagerStatus
from ..points.standings import balance
from ..web.auth import permission_required
from .common import actor, get_or_404, ip, is_admin, page_arg, flash_refusal, village
from .forms import GroupForm, HouseholdForm, MoveForm, NewHouseholdForm, StatusForm, VillagerForm
from .blueprint import bp
from .services import registry as reg


def status_label(status) -> str:
    value = VillagerStatus(status).value
    return {"active": _("Active"), "moved_out": _("Moved out"), "deceased": _("Deceased")}[value]


@bp.get("/")
@permission_required("village.admin")
def home():
    v = village()
    groups = reg.group_counts(db.session, actor(), v)
    return render_template(
        "admin/home.html",
        village=v,
        groups=groups,
        households=sum(g["households"] for g in groups),
        people=sum(g["people"] for g in groups),
    )


# --- groups -------------------------------------------------------------------------------


@bp.get("/groups")
@permission_required("registry.read")
def groups():
    v = village()
    form = GroupForm() if is_admin() else None
    return render_template(
        "admin/groups.html", village=v, groups=reg.group_counts(db.session, actor(), v), form=form, can_edit=is_admin()
    )


@bp.post("/groups")
@permission_required("village.admin")
def group_create():
    v = village()
    form = GroupForm()
    if form.validate_on_submit():
        try:
            reg.save_group(db.session, actor(), v, form.name.data, form.sort_key.data or 0, ip=ip())
            flash(_("Group %(name)s added.", name=form.name.data.strip()), "success")
            return redirect(url_for("admin.groups"))
        except Refused as exc:
            flash_refusal(exc, form)
    return render_template(
        "admin/groups.html", village=v, groups=reg.group_counts(db.session, actor(), v), form=form, can_edit=True
    ), 400


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@permission_required("village.admin")
def group_edit(group_id: int):
    v = village()
    group = get_or_404(Group, group_id)
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        try:
            reg.save_group(db.session, actor(), v, form.name.data, form.sort_key.data or 0, group=group, ip=ip())
            flash(_("Saved."), "success")
            return redirect(url_for("admin.groups"))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/group_edit.html", village=v, group=group, form=form), status


# --- households ---------------------------------------------------------------------------


@bp.get("/households")
@permission_required("registry.read")
def households():
    v = village()
    groups = reg.groups_of(db.session, v)
    group_id = request.args.get("group", type=int)
    if group_id is not None and group_id not in {g.id for g in groups}:
        group_id = None
    q = (request.args.get("q") or "").strip()[:50]
    page = reg.list_households(db.session, actor(), v, group_id=group_id, q=q or None, page=page_arg())
    viewer_village = request.args.get("village", type=int) if not is_admin() else None
    args = {k: val for k, val in (("group", group_id), ("q", q), ("village", viewer_village)) if val}
    return render_template(
        "admin/households.html",
        village=v,
        groups=groups,
        group_id=group_id,
        q=q,
        page=page,
        args=args,
        can_edit=is_admin(),
        viewer_village=viewer_village,
    )


def _group_choices(v):
    return [(g.id, g.name) for g in reg.groups_of(db.session, v)]


@bp.route("/households/new", methods=["GET", "POST"])
@permission_required("village.admin")
def household_new():
    v = village()
    form = NewHouseholdForm()
    form.group.choices = _group_choices(v)
    if request.method == "GET" and request.args.get("group", type=int):
        form.group.data = request.args.get("group", type=int)
    if form.validate_on_submit():
        try:
            h = reg.create_household(
                db.session,
                actor(),
                v,
                get_or_404(Group, form.group.data),
                form.number.data,
                form.house_number.data,
                ip=ip(),
            )
            flash(_("Household %(number)s added. Now add its members.", number=h.number), "success")
            return redirect(url_for("admin.villager_new", household_id=h.id))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/household_new.html", village=v, form=form), status


@bp.get("/households/<int:household_id>")
@permission_required("village.admin")
def household(household_id: int):
    v = village()
    h = get_or_404(Household, household_id)
    members = [
        {
            "id": m.id,
            "name": m.name,
            "relation": m.relation,
            "sex": m.sex,
            "birth": f"{m.birth_year}-{m.birth_month:02d}" if m.birth_year and m.birth_month else (m.birth_year or ""),
            "phone": m.phone,
            "status": status_label(m.status),
            "active": m.status == VillagerStatus.active,
            "head": m.id == h.head_id,
        }
        for m in h.members
    ]
    return render_template(
        "admin/household.html", village=v, h=h, members=members, balance=balance(db.session, household=h)
    )


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@permission_required("village.admin")
def household_edit(household_id: int):
    v = village()
    h = get_or_404(Household, household_id)
    form = HouseholdForm(obj=h) if request.method == "GET" else HouseholdForm()
    if request.method == "GET":
        form.group.data, form.head.data = h.group_id, h.head_id
    form.group.choices = _group_choices(v)
    form.head.choices = [(None, "—")] + [(m.id, m.name) for m in h.members if m.status == VillagerStatus.active]
    if form.validate_on_submit():
        head = get_or_404(Villager, form.head.data) if form.head.data else None
        try:
            reg.update_household(
                db.session,
                actor(),
                v,
                h,
                number=form.number.data,
                house_number=form.house_number.data,
                group=get_or_404(Group, form.group.data),
                head=head,
                active=form.active.data,
                ip=ip(),
            )
            flash(_("Saved."), "success")
            return redirect(url_for("admin.household", household_id=h.id))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/household_edit.html", village=v, h=h, form=form), status


# --- villagers ----------------------------------------------------------------------------


def _data(form: VillagerForm) -> reg.VillagerData:
    return reg.VillagerData(
        name=form.name.data,
        sex=form.sex.data or None,
        birth_year=form.birth_year.data,
        birth_month=form.birth_month.data,
        phone=form.phone.data,
        relation=form.relation.data,
    )


@bp.route("/households/<int:household_id>/villagers/new", methods=["GET", "POST"])
@permission_required("village.admin")
def villager_new(household_id: int):
    v = village()
    h = get_or_404(Household, household_id)
    form = VillagerForm()
    if form.validate_on_submit():
        try:
            person = reg.add_villager(db.session, actor(), v, h, _data(form), make_head=form.make_head.data, ip=ip())
            flash(_("%(name)s added to household %(number)s.", name=person.name, number=h.number), "success")
            return redirect(url_for("admin.household", household_id=h.id))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/villager_form.html", village=v, h=h, person=None, form=form), status


@bp.get("/villagers/<int:villager_id>")
@permission_required("village.admin")
def villager(villager_id: int):
    v = village()
    person = get_or_404(Villager, villager_id)
    status_form = StatusForm(status=VillagerStatus(person.status).value)
    return render_template(
        "admin/villager.html",
        village=v,
        person=person,
        h=person.household,
        status=status_label(person.status),
        active=person.status == VillagerStatus.active,
        is_head=person.household.head_id == person.id,
        moves=reg.moves_of(db.session, person),
        balance=balance(db.session, villager=person),
        status_form=status_form,
    )


@bp.route("/villagers/<int:villager_id>/edit", methods=["GET", "POST"])
@permission_required("village.admin")
def villager_edit(villager_id: int):
    v = village()
    person = get_or_404(Villager, villager_id)
    form = VillagerForm(obj=person)
    if request.method == "GET":
        form.make_head.data = person.household.head_id == person.id
    if form.validate_on_submit():
        try:
            reg.update_villager(db.session, actor(), v, person, _data(form), make_head=form.make_head.data, ip=ip())
            flash(_("Saved."), "success")
            return redirect(url_for("admin.villager", villager_id=person.id))
        except Refused as exc:
            flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/villager_form.html", village=v, h=person.household, person=person, form=form), status


@bp.route("/villagers/<int:villager_id>/move", methods=["GET", "POST"])
@permission_required("village.admin")
def villager_move(villager_id: int):
    v = village()
    person = get_or_404(Villager, villager_id)
    form = MoveForm()
    if form.validate_on_submit():
        target = reg.find_household(db.session, v, form.to_number.data)
        if target is None:
            form.to_number.errors = [
                _("No household with number %(number)s in this village.", number=form.to_number.data.strip())
            ]
        else:
            try:
                reg.move_villager(
                    db.session,
                    actor(),
                    v,
                    person,
                    target,
                    form.moved_on.data,
                    relation=form.relation.data,
                    make_head=form.make_head.data,
                    ip=ip(),
                )
                flash(
                    _(
                        "%(name)s now belongs to household %(number)s. Past points stay with the old household.",
                        name=person.name,
                        number=target.number,
                    ),
                    "success",
                )
                return redirect(url_for("admin.villager", villager_id=person.id))
            except Refused as exc:
                flash_refusal(exc, form)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/villager_move.html", village=v, person=person, h=person.household, form=form), status


@bp.post("/villagers/<int:villager_id>/status")
@permission_required("village.admin")
def villager_status(villager_id: int):
    v = village()
    person = get_or_404(Villager, villager_id)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(_("Unknown status."), "error")
        return redirect(url_for("admin.villager", villager_id=person.id))
    try:
        reg.set_status(db.session, actor(), v, person, form.status.data, ip=ip())
        flash(_("%(name)s is now: %(status)s.", name=person.name, status=status_label(person.status)), "success")
    except Refused as exc:
        flash_refusal(exc)
    return redirect(url_for("admin.villager", villager_id=person.id))
