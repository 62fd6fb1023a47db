"""Stand-ins for external services, driven by the real client libraries in tests."""

from tests.fakes.slack_api import Call, FakeSlack

__all__ = ["Call", "FakeSlack"]
