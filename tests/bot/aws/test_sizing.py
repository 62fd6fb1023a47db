"""Fargate sizes: only valid combinations, enough memory for the frame, vCPUs with the data."""

from __future__ import annotations

import pytest

from bot.backends.aws.sizing import (
    FARGATE_MEMORY_MIB,
    TaskSize,
    expansion,
    is_valid_fargate,
    task_size,
)

MB = 1024 * 1024
GB = 1024 * MB


@pytest.mark.parametrize(
    ("vcpu", "memory_mib", "valid"),
    [
        (0.25, 512, True),
        (0.25, 2048, True),
        (0.25, 3072, False),
        (0.5, 1024, True),
        (0.5, 4096, True),
        (0.5, 5120, False),
        (1, 2048, True),
        (1, 8192, True),
        (1, 1024, False),
        (2, 4096, True),
        (2, 5120, True),
        (2, 16384, True),
        (2, 16896, False),  # not a 1 GB step
        (4, 8192, True),
        (4, 30720, True),
        (4, 31744, False),
        (8, 16384, True),
        (8, 20480, True),
        (8, 17408, False),  # 8 vCPU moves in 4 GB steps
        (8, 61440, True),
        (16, 32768, True),
        (16, 40960, True),
        (16, 36864, False),  # 16 vCPU moves in 8 GB steps
        (16, 122880, True),
        (16, 131072, False),
        (3, 8192, False),
        (32, 65536, False),
    ],
)
def test_valid_fargate_combinations(vcpu: float, memory_mib: int, valid: bool) -> None:
    assert is_valid_fargate(vcpu, memory_mib) is valid


def test_the_table_has_the_documented_counts() -> None:
    assert {vcpu: len(sizes) for vcpu, sizes in FARGATE_MEMORY_MIB.items()} == {
        0.25: 3,
        0.5: 4,
        1: 7,
        2: 13,
        4: 23,
        8: 12,
        16: 12,
    }


@pytest.mark.parametrize(
    ("dataset_bytes", "budget_s", "file_name", "columns", "expected"),
    [
        # Small tables: the floor, two vCPUs and their least memory.
        (0, 60, "a.csv", None, TaskSize(2, 4096)),
        (2 * MB, 60, "churn.csv", None, TaskSize(2, 4096)),
        # ~150 MB CSV (the 1M x 20 benchmark peaked at 2.7 GB): 2 + 1.5 GB, rounded up.
        (150 * MB, 60, "big.csv", None, TaskSize(2, 4096)),
        (200 * MB, 60, "big.csv", None, TaskSize(2, 4096)),
        (210 * MB, 60, "big.csv", None, TaskSize(4, 8192)),  # 2 GB of frame: more vCPUs
        (500 * MB, 300, "big.csv", None, TaskSize(4, 8192)),
        (1 * GB, 300, "huge.csv", None, TaskSize(8, 16384)),
        (3 * GB, 300, "huge.csv", None, TaskSize(16, 32768)),
        (10 * GB, 300, "huge.csv", None, TaskSize(16, 106496)),
        (20 * GB, 300, "too-big.csv", None, TaskSize(16, 122880)),  # Fargate's largest
        # Compressed formats hold much more data per byte.
        (40 * MB, 60, "sales.parquet", None, TaskSize(2, 4096)),
        (60 * MB, 60, "sales.parquet", None, TaskSize(4, 8192)),
        (30 * MB, 60, "sales.xlsx", None, TaskSize(2, 4096)),
        (100 * MB, 60, "sales.xlsx", None, TaskSize(4, 8192)),
        # Wide tables get a quarter more.
        (150 * MB, 60, "wide.csv", 1000, TaskSize(2, 4096)),
        (180 * MB, 60, "wide.csv", 1000, TaskSize(4, 8192)),
        # A long search over mid-sized data gets parallel trials.
        (60 * MB, 1800, "mid.csv", None, TaskSize(4, 8192)),
        (10 * MB, 1800, "small.csv", None, TaskSize(2, 4096)),
    ],
)
def test_task_size(
    dataset_bytes: int, budget_s: int, file_name: str, columns: int | None, expected: TaskSize
) -> None:
    size = task_size(dataset_bytes, budget_s, columns=columns, file_name=file_name)
    assert size == expected
    assert is_valid_fargate(size.vcpu, size.memory_mib)


@pytest.mark.parametrize("megabytes", [0, 1, 10, 50, 100, 150, 300, 500, 1000, 4000, 20000])
def test_always_valid_and_enough_memory(megabytes: int) -> None:
    for budget in (5, 60, 3600, 6 * 3600):
        size = task_size(megabytes * MB, budget, file_name="x.csv")
        assert is_valid_fargate(size.vcpu, size.memory_mib)
        assert size.vcpu >= 2
        assert size.memory_mib >= min(2048 + 10 * megabytes, 122880)


def test_memory_grows_with_the_data() -> None:
    sizes = [task_size(mb * MB, 60, file_name="x.csv") for mb in range(0, 12000, 250)]
    assert sizes == sorted(sizes, key=lambda s: (s.vcpu, s.memory_mib))


def test_resource_requirements() -> None:
    assert TaskSize(2, 4096).resource_requirements() == [
        {"type": "VCPU", "value": "2"},
        {"type": "MEMORY", "value": "4096"},
    ]
    assert TaskSize(0.25, 512).resource_requirements()[0] == {"type": "VCPU", "value": "0.25"}
    with pytest.raises(ValueError, match="not a Fargate size"):
        TaskSize(2, 2048)


def test_expansion_by_extension() -> None:
    assert expansion("a.CSV") == expansion("a.tsv") == expansion("no-extension") == 10
    assert expansion("a.parquet") == 40
    assert expansion("a.xlsx") == 50
    with pytest.raises(ValueError, match="negative"):
        task_size(-1, 60)
