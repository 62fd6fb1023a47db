"""`/automl cost`: what this channel's training jobs cost this calendar month (UTC).

The sum of the cost records the completion Lambda keeps in each job's run folder
(`contract.aws.JOB_COST_FILE`, written when Batch reports the job's end), over the jobs the
job store lists for the channel. Jobs without a record are counted apart: still running,
ended before a task started, or run by the local backend, which costs no cloud money.

Standard library, `contract` and the bot's ports only: the bot's Lambda imports this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.cost import JobCost
from bot.jobs import JobStore
from bot.messages.channel_cost import channel_cost_sentence
from bot.ports import ArtifactStore
from contract.aws import JOB_COST_FILE
from contract.jobs import utc_now

log = logging.getLogger(__name__)

# The most jobs one answer reads; a channel with more in a month is told the sum is partial.
MAX_JOBS = 500


@dataclass(frozen=True, slots=True)
class ChannelCost:
    month_start: datetime
    priced: int  # jobs with a cost record
    unpriced: int  # jobs this month without one
    spot_usd: float
    on_demand_usd: float
    billed_s: int
    partial: bool  # more jobs than MAX_JOBS: the oldest were not read

    def sentence(self) -> str:
        return channel_cost_sentence(
            month=self.month_start.strftime("%B %Y"),
            priced=self.priced,
            unpriced=self.unpriced,
            spot_usd=self.spot_usd,
            on_demand_usd=self.on_demand_usd,
            billed_s=self.billed_s,
            partial=self.partial,
        )


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def channel_cost(
    jobs: JobStore, artifacts: ArtifactStore, channel_id: str, *, now: datetime | None = None
) -> ChannelCost:
    start = month_start(now or utc_now())
    listed = jobs.list_for_channel(channel_id, limit=MAX_JOBS + 1)
    this_month = [job for job in listed if job.created_at >= start]
    partial = len(this_month) > MAX_JOBS
    priced = unpriced = billed_s = 0
    spot = on_demand = 0.0
    for job in this_month[:MAX_JOBS]:
        cost = _recorded_cost(artifacts, job.job_id)
        if cost is None:
            unpriced += 1
            continue
        priced += 1
        spot += cost.spot_usd
        on_demand += cost.on_demand_usd
        billed_s += cost.billed_s
    return ChannelCost(start, priced, unpriced, spot, on_demand, billed_s, partial)


def _recorded_cost(artifacts: ArtifactStore, job_id: str) -> JobCost | None:
    try:
        return JobCost.from_json(artifacts.read_bytes(job_id, JOB_COST_FILE))
    except FileNotFoundError:  # the stores' ArtifactNotFound: no record for this job
        return None
    except ValueError:
        log.warning("job %s has an unreadable cost record; left out of the sum", job_id)
        return None
