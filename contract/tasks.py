"""What a job can be asked to do: the task names the spec, the result and the bot share."""

from __future__ import annotations

from typing import Final, Literal, get_args

TaskName = Literal["classification", "regression"]
RequestedTask = Literal["auto", "classification", "regression"]  # "auto": decide from the target

TASK_NAMES: Final[tuple[TaskName, ...]] = get_args(TaskName)
REQUESTED_TASKS: Final[tuple[RequestedTask, ...]] = get_args(RequestedTask)
