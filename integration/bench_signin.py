"""Sign-in timing: a known user with a wrong password against an unknown user (medians).

Both must take one argon2 verification (issue 15: an unknown user is verified against a
dummy hash), so the ratio of the medians stays near 1; before, it was about 4 (196 ms
against 50 ms). Each round signs in as the known user with a wrong password, as an unknown
user, then correctly (which clears the account's failure count, so it never locks). Sign-in
is also throttled per client address: point this at a core that trusts this machine as a
front proxy (``SUNLIGHT_TRUSTED_PROXIES``) and each round presents its own address in
``X-Forwarded-For`` (``--forwarded``), or the address locks after 20 failures.

Run: python integration/bench_signin.py http://127.0.0.1:8003 USER PASSWORD [--rounds 15]
     [--forwarded]
(also :func:`measure`, used by integration/test_platform_8_accounts.py).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time

import httpx


def _timed(client: httpx.Client, username: str, password: str, forwarded: str | None,
           expect: int) -> float:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    started = time.perf_counter()
    response = client.post("/api/v1/auth/token", headers=headers,
                           json={"username": username, "password": password})
    elapsed = time.perf_counter() - started
    if response.status_code != expect:
        raise RuntimeError(f"{username}: {response.status_code} {response.text[:200]} "
                           f"(expected {expect})")
    return elapsed


def measure(base_url: str, username: str, password: str, rounds: int = 15,
            forwarded: bool = False) -> tuple[float, float]:
    """(median seconds for a known user with a wrong password, median for an unknown
    user), over ``rounds`` rounds, after one warm-up round."""
    known: list[float] = []
    unknown: list[float] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for n in range(rounds + 1):
            address = (f"198.18.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
                       if forwarded else None)
            wrong = _timed(client, username, "not-the-password-" + secrets.token_hex(4),
                           address, 401)
            nobody = _timed(client, f"nobody.{secrets.token_hex(6)}", "not-the-password",
                            address, 401)
            _timed(client, username, password, address, 200)
            if n:  # the first round warms connections and caches up
                known.append(wrong)
                unknown.append(nobody)
    return statistics.median(known), statistics.median(unknown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--forwarded", action="store_true",
                        help="a fresh X-Forwarded-For address per round")
    args = parser.parse_args()
    known, unknown = measure(args.url, args.username, args.password, args.rounds,
                             args.forwarded)
    print(f"known user, wrong password: median {known * 1000:.1f} ms")
    print(f"unknown user:               median {unknown * 1000:.1f} ms")
    print(f"ratio known/unknown:        {known / unknown:.2f}")


if __name__ == "__main__":
    main()
