"""Random details drawn for people and their accounts, and how people mistype references.

Why one place: the population (payees, payers) and the planted cases (a new payee, a stranger) draw the
same kinds of detail; each draw takes the caller's seeded ``random.Random``, so output stays a function
of the seed.
"""

from __future__ import annotations

import math
import random

from simulator import catalogue as cat


def person(rng: random.Random) -> str:
    """A first name and surname from the catalogue."""
    return f"{rng.choice(cat.FIRST_NAMES)} {rng.choice(cat.SURNAMES)}"


def sort_code(rng: random.Random) -> str:
    return f"{rng.randrange(10, 99)}{rng.randrange(0, 10000):04d}"


def account_number(rng: random.Random) -> str:
    return f"{rng.randrange(10_000_000, 100_000_000)}"


def mistype(ref: str, rng: random.Random) -> str:
    """How people mistype a standing-order reference: drop the space, swap digits, O for 0, lower case."""
    choice = rng.randrange(4)
    if choice == 0:
        return ref.replace(" ", "")
    if choice == 1:
        head, digits = ref.split(" ")
        if len(digits) >= 2:
            i = rng.randrange(len(digits) - 1)
            digits = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        return f"{head} {digits}"
    if choice == 2:
        return ref.replace("CONTRIB", "C0NTRIB")
    return ref.lower()


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw with mean ``lam`` (Knuth's method: a few uniform draws for the small means used)."""
    limit = math.exp(-lam)
    k, prod = 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k
