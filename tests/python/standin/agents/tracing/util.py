# SPDX-License-Identifier: MIT
import uuid
from datetime import datetime, timezone


def time_iso():
    return datetime.now(timezone.utc).isoformat()


def gen_trace_id():
    return f"trace_{uuid.uuid4().hex}"


def gen_span_id():
    return f"span_{uuid.uuid4().hex[:24]}"
