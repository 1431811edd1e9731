#!/usr/bin/env python3
"""Top frames of a dotnet-trace speedscope file (dotnet-sampled-thread-time: one evented profile per thread).

The sampler ends each stack in CPU_TIME (managed code running) or UNMANAGED_CODE_TIME (native code: a system call, a
wait, or native work such as OpenSSL's HMAC). Busy time = CPU_TIME, plus UNMANAGED_CODE_TIME under a frame that is not a
wait or an idle socket/thread-pool loop. Percentages are of that busy time, all threads together. The frames of the
thread pool's and Kestrel's dispatch loops are left out of the inclusive list (they include everything).
    python3 bench/profiles/top-frames.py trace.speedscope.json [N] [requests in the trace]

With the number of requests served while the trace ran, a last table gives sampled µs per request of the hot read's
own parts (inclusive), which compares across runs better than percentages of a busy time that includes idle spinning.
"""
import json
import re
import sys
from collections import defaultdict

WAITING = re.compile(r"Wait|Sleep|epoll|LowLevelLifoSemaphore|Monitor\.Enter|WaitHandle|ReceiveMessage|"
                     r"SocketAsyncEngine\.EventLoop|Interop\+Sys\.(WaitForSocketEvents|Read|Receive)|PollForValues|"
                     r"TimerQueue|Watchdog|Heartbeat", re.I)
PLUMBING = re.compile(r"ThreadPool|ExecutionContext\.Run|AsyncMethodBuilderCore|AsyncTaskMethodBuilder|Thread\.StartCallback|"
                      r"ThreadStart|IOQueue|SocketAsyncEngine|AwaitTaskContinuation|Task\.ExecuteWith|TaskContinuation|"
                      r"AsyncStateMachineBox|ExecuteFromThreadPool|Dispatch\(\)|^\?!\?$", re.I)


def shorten(name):
    name = re.sub(r"\(.*$", "", name)
    name = re.sub(r"^[^!]*!", "", name)
    return name.replace("|", "/")[:150]


PARTS = [
    ("Kestrel's request loop (up to its first await)", r"HttpProtocol\+<ProcessRequests>"),
    ("JWT bearer authentication", r"JwtBearerHandler\+<HandleAuthenticateAsync>"),
    ("  of which token validation (JsonWebTokenHandler)", r"JsonWebTokenHandler\+<ValidateTokenAsync>"),
    ("admission filter (grain call included)", r"AdmissionExtensions\+<>c__DisplayClass0_0\+<<RequireAdmission>"),
    ("GetCustomerAsync (grain call included)", r"CustomersApi\+<GetCustomerAsync>"),
    ("caller envelope HMAC (CallerSigner.Mac)", r"CallerSigner\.Mac$"),
    ("ToCaller (claims parsing)", r"AuthExtensions\.ToCaller$"),
    ("GetGrain's attribute reflection", r"AttributeGrainInterfaceTypeProvider\.TryGetGrainInterfaceType"),
    ("JSON response (System.Text.Json)", r"JsonTypeInfo`1\+<SerializeAsync>"),
    ("traffic metering's Record", r"TrafficAggregator\.Record$"),
    ("request logging scope (BeginScope)", r"Logger\.BeginScope$"),
    ("tenant isolation filter (in the grain)", r"TenantIsolationFilter\+<Invoke>"),
]


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    requests = float(sys.argv[3]) if len(sys.argv) > 3 else 0
    with open(path) as f:
        doc = json.load(f)
    names = [fr["name"] for fr in doc["shared"]["frames"]]
    inclusive = defaultdict(float)
    exclusive = defaultdict(float)
    busy = 0.0
    for profile in doc["profiles"]:
        stack = []
        last = None
        for event in profile["events"]:
            at = event["at"]
            if len(stack) >= 2 and last is not None and at > last:
                leaf = names[stack[-1]]
                parent = names[stack[-2]]
                running = leaf == "CPU_TIME" or (leaf == "UNMANAGED_CODE_TIME" and not WAITING.search(parent))
                if running:
                    dt = at - last
                    busy += dt
                    exclusive[shorten(parent)] += dt
                    for name in {shorten(names[i]) for i in stack[:-1]}:
                        inclusive[name] += dt
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
    print(f"busy (sampled running) thread time: {busy:,.0f} ms\n")
    print(f"Top {top} by exclusive (self) time:\n")
    print("| % busy | frame |\n|---:|---|")
    for name, ms in sorted(exclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| {100 * ms / busy:5.1f} | `{name}` |")
    print(f"\nTop {top} by inclusive time (dispatch loops left out):\n")
    print("| % busy | frame |\n|---:|---|")
    shown = 0
    for name, ms in sorted(inclusive.items(), key=lambda kv: -kv[1]):
        if PLUMBING.search(name) or name in ("CPU_TIME", "UNMANAGED_CODE_TIME") or name.startswith("Thread ("):
            continue
        print(f"| {100 * ms / busy:5.1f} | `{name}` |")
        shown += 1
        if shown == top:
            break
    if requests:
        print(f"\nThe hot read's parts, sampled thread time per request ({requests:,.0f} requests in the trace):\n")
        print("| part | % busy | µs per request |\n|---|---:|---:|")
        for label, pattern in PARTS:
            ms = max((v for k, v in inclusive.items() if re.search(pattern, k)), default=0.0)
            print(f"| {label} | {100 * ms / busy:.1f} | {1000 * ms / requests:,.1f} |")


if __name__ == "__main__":
    main()
