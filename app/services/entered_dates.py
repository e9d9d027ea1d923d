"""Dates officers enter (what happened, and when): the past is fine, the future is not."""

from datetime import date

from app.core.errors import field_problem


def not_in_future(field: str, day: date, today: date) -> None:
    """`today` is the Asia/Shanghai business date from the service clock."""
    if day > today:
        raise field_problem(
            422,
            "date_in_future",
            field,
            f"{day} 晚于今天 {today}（北京时间）：请填写实际发生的日期 / {day} is after today ({today}, "
            "Asia/Shanghai): enter the day it actually happened",
        )


def not_before_project(field: str, day: date, introduced_on: date) -> None:
    """Nothing about a project happens (or is planned) before the office took it up."""
    if day < introduced_on:
        raise field_problem(
            422,
            "before_project_start",
            field,
            f"{day} 早于项目引进日期 {introduced_on} / {day} is before the project was introduced ({introduced_on})",
        )
