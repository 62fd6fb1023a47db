"""One way for the buttons, forms and shortcuts here to ask the job service for a prediction."""

from __future__ import annotations

from bot.prediction_service import PredictRequest
from bot.service import JobService


def ask_for_prediction(
    service: JobService,
    *,
    user_id: str,
    channel_id: str,
    model_job_id: str | None,
    file_id: str | None,
    file_name: str | None,
    thread_ts: str | None,
    dedupe_key: str | None,
) -> str | None:
    """Start a prediction job; the sentence to tell the person (privately)."""
    request = PredictRequest(
        user_id=user_id,
        channel_id=channel_id,
        model_job_id=model_job_id,
        file_id=file_id,
        file_name=file_name,
        thread_ts=thread_ts,
        dedupe_key=dedupe_key,
    )
    return service.predict(request).sentence()
