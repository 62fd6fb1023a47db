"""How much CPU and memory a training job gets on Fargate, from the size of its dataset.

Fargate accepts only certain vCPU/memory pairs (AWS Batch `ResourceRequirement` docs):

    vCPU   memory (MiB)
    0.25   512, 1024, 2048
    0.5    1024 to 4096 in 1024 steps
    1      2048 to 8192 in 1024 steps
    2      4096 to 16384 in 1024 steps
    4      8192 to 30720 in 1024 steps
    8      16384 to 61440 in 4096 steps
    16     32768 to 122880 in 8192 steps

The estimate, from `benchmarks/results/speed.md` (2 CPUs): a 10k-row table peaked at about
1.6 GB for the whole process tree (Python, FLAML, LightGBM/XGBoost, the Sweetviz child, the
chart renderer), and 1M x 20 (a ~150 MB CSV) at 2.7 GB: about 7 MB of memory per MB of CSV
on top of that base. Pandas frames of compressed formats grow much more than their file.
The job's wall time is its budget whatever the size, so vCPUs buy search trials, not speed;
two is the floor so FLAML's trials and the report's child process run side by side.

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIB: Final = 1024 * 1024

# vCPU -> the memory sizes Fargate allows with it.
FARGATE_MEMORY_MIB: Final[dict[float, tuple[int, ...]]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1: tuple(range(2048, 8192 + 1, 1024)),
    2: tuple(range(4096, 16384 + 1, 1024)),
    4: tuple(range(8192, 30720 + 1, 1024)),
    8: tuple(range(16384, 61440 + 1, 4096)),
    16: tuple(range(32768, 122880 + 1, 8192)),
}

MIN_VCPU: Final = 2.0
BASE_MIB: Final = 2048  # the process tree without data: the 10k-row run's 1.6 GB, rounded up
WIDE_TABLE_COLUMNS: Final = 500  # wider frames carry per-column overhead (dtypes, report, encoders)
WIDE_TABLE_FACTOR: Final = 1.25
LONG_BUDGET_S: Final = 1800  # long searches on mid-sized data are worth more parallel trials

# Peak memory per byte of file, by format. CSV measured at ~7x (see above); 10 leaves room.
# Parquet is compressed columnar; openpyxl holds a workbook in far more than its file size.
_EXPANSION: Final[dict[str, float]] = {
    "csv": 10,
    "tsv": 10,
    "txt": 10,
    "parquet": 40,
    "pq": 40,
    "xlsx": 50,
    "xls": 50,
}
_DEFAULT_EXPANSION: Final = 10

# Working-set thresholds (MiB of expanded data) for each step up in vCPUs.
_VCPU_STEPS: Final[tuple[tuple[float, float], ...]] = (
    (2 * 1024, 2),
    (8 * 1024, 4),
    (24 * 1024, 8),
    (float("inf"), 16),
)


@dataclass(frozen=True, slots=True)
class TaskSize:
    """One valid Fargate size."""

    vcpu: float
    memory_mib: int

    def __post_init__(self) -> None:
        if not is_valid_fargate(self.vcpu, self.memory_mib):
            raise ValueError(f"{self.vcpu:g} vCPU with {self.memory_mib} MiB is not a Fargate size")

    def resource_requirements(self) -> list[dict[str, str]]:
        """The `resourceRequirements` of a Batch container override."""
        return [
            {"type": "VCPU", "value": f"{self.vcpu:g}"},
            {"type": "MEMORY", "value": str(self.memory_mib)},
        ]


def is_valid_fargate(vcpu: float, memory_mib: int) -> bool:
    """Whether Fargate runs a task with exactly this vCPU and memory (MiB)."""
    return memory_mib in FARGATE_MEMORY_MIB.get(vcpu, ())


def expansion(file_name: str) -> float:
    """Peak memory per byte of the file, judged by its extension."""
    suffix = file_name.rpartition(".")[2].lower() if "." in file_name else ""
    return _EXPANSION.get(suffix, _DEFAULT_EXPANSION)


def task_size(
    dataset_bytes: int,
    time_budget_s: int,
    *,
    columns: int | None = None,
    file_name: str = "",
) -> TaskSize:
    """The smallest Fargate size that holds the dataset's frame and the search around it.

    vCPUs grow with the data's size in memory (two at least); memory is the base plus the
    expanded data, rounded up to the next size valid for those vCPUs, with more vCPUs where
    one vCPU count's maximum is not enough. Past Fargate's largest size, that size.
    """
    if dataset_bytes < 0:
        raise ValueError("dataset_bytes must not be negative")
    working_mib = dataset_bytes / MIB * expansion(file_name)
    if columns is not None and columns > WIDE_TABLE_COLUMNS:
        working_mib *= WIDE_TABLE_FACTOR
    need_mib = BASE_MIB + working_mib

    vcpu = next(vcpu for limit, vcpu in _VCPU_STEPS if working_mib < limit)
    if time_budget_s >= LONG_BUDGET_S and working_mib >= 512:
        vcpu = max(vcpu, 4)
    vcpu = max(vcpu, MIN_VCPU)

    for candidate in sorted(FARGATE_MEMORY_MIB):
        if candidate < vcpu:
            continue
        fitting = [memory for memory in FARGATE_MEMORY_MIB[candidate] if memory >= need_mib]
        if fitting:
            return TaskSize(candidate, fitting[0])
    largest = max(FARGATE_MEMORY_MIB)
    return TaskSize(largest, FARGATE_MEMORY_MIB[largest][-1])
