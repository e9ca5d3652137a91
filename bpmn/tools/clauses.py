"""The clause of the notice each element carries out, written at the head of its documentation as
``【五(三)】`` (several: ``【五(一)；四(二)】``); an element this table does not list is marked
``【本地做法】`` (local practice: the notice does not ask for it). ``shanyu clauses`` reads the marks
back from the diagrams."""

from __future__ import annotations

LOCAL = "本地做法"

_CYCLE = {
    "二": "Start_cycle Validate Quota",
    "五(二)；三": "Task_indicators",
    "五(一)": "Invitees Invite Start_invite Prepare Throw_invite Receive_outcome End_invite",
    "五(四)": (
        "Select Start_select End_select Rank Check Publish_by Task_publish Publish Notice_period Notice Start_notice Gw_notice Receive_objection "
        "Fork_objection Task_objection Record_objection End_objection Timer_notice_end End_notice "
        "Close_notice Task_report"
    ),
    "五(四)；二": "Task_select",
    "五(五)": (
        "Naming Start_naming End_naming Split Task_name Named Register_sh Gw_national Task_national Msg_national From_state Gw_national_in "
        "Register_cn No_national Gw_national_out Join"
    ),
    "五(五)；六": "Start_management Start_named Throw_named End_named",
    "四(四)": "Task_commend Notify_titled End_cycle",
}
_DISTRICT = {
    "五(一)": (
        "Start_invited Init Phase_apply Start_apply_phase End_apply_in_time End_apply_overdue Window_apply Start_apply_window Fork_apply Stage_apply Start_apply Task_intention "
        "Task_leadership Gw_leadership End_filed End_declined End_apply_done Gw_applied Declined "
        "Timer_apply_deadline Note_apply_missed End_apply_missed Gw_apply_missed"
    ),
    "五(一)；四(二)": "Task_file",
    "五(二)": (
        "Phase_self Start_self_phase End_self_in_time End_self_overdue Gw_self_done Window_self Start_self_window Fork_self Stage_self Start_self End_self End_self_done Timer_self_deadline "
        "Note_self_missed End_self_missed Gw_self_missed"
    ),
    "五(二)；三": "Task_self",
    "五(二)；一": "Score_self",
    "五(三)": (
        "Phase_audit Start_audit_phase End_audit_overdue End_audit_concluded Window_audit Start_audit_window Fork_audit Stage_audit Start_audit Task_assign End_audit End_audit_done "
        "Audited Timer_audit_deadline Note_audit_missed End_audit_missed Gw_audit_missed"
    ),
    "五(三)；三": "Task_audit",
    "五(三)；一": "Score_audit",
    "五(四)": "Gw_send Throw_outcome End_done",
}
_TITLES = {
    "六": (
        "Start_named Init Annual Start_annual Gw_year Plan Timer_open Gw_report Task_report Task_review "
        "Gw_finding Gw_next Next Timer_report_due Task_missed Gw_missed Urge Msg_revoked End_revoked"
    ),
    "六(二)": "Missed_ground",
    "六(一)；六(二)；六(三)": "Ground Gw_refer Throw_refer",
    "六(三)": "Task_satisfaction Gw_satisfaction",
}
_REVOCATION = {
    "六": (
        "Start_request Verify Start_verify End_verify_referred Gw_referred End_verified Title Gw_title End_no_title "
        "Task_verify Gw_verified Notify_dismissed End_dismissed "
        "Gw_decide Task_confirm Gw_decision Revoke_direct Reg_revoke Throw_revoked Notify_revoked End_revoked "
        "Gw_close Reg_close Gw_closed Notify_closed End_closed Rectify Start_rectify Plan_rectify Reg_rectify "
        "Notify_rectify Gw_rectified"
    ),
    "六(一)；六(二)；六(三)": "Check_request Decide Prepare",
}
CLAUSES: dict[str, dict[str, str]] = {
    process: {element: clause for clause, ids in table.items() for element in ids.split()}
    for process, table in (
        ("creation_cycle", _CYCLE),
        ("district_application", _DISTRICT),
        ("title_management", _TITLES),
        ("revocation", _REVOCATION),
    )
}


def mark(process: str, element: str) -> str:
    """The clause mark an element's documentation starts with."""
    return f"【{CLAUSES.get(process, {}).get(element, LOCAL)}】"
