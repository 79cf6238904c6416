"""What happens on each card, day by day: the day loop that brings the plans together.

Each client is simulated on its own (``card.CardSim``: its own seeded ``random.Random``, its ledger
balance and open holds), walking its days in order. Before the loop its planted case (``plants``), its
loads and contributions (``income``) are planned; each day then settles and releases what is due, and runs
the day's planned items, arrivals and background (``background``) in time order.
"""

from __future__ import annotations

from simulator import background, income, plants
from simulator.card import CardSim
from simulator.days import DAY
from simulator.model import Case, Item
from simulator.population import Population


def generate(pop: Population) -> tuple[list[Item], list[Case]]:
    """Every item on every card, plus the planted cases with their evidence items."""
    items: list[Item] = []
    cases: list[Case] = []
    for c in pop.clients:
        items.extend(live(CardSim(c, pop, cases)))
    plants.finish_cases(pop, cases)
    return items, cases


def live(sim: CardSim) -> list[Item]:
    """One card's items over the simulated days (its planted case's evidence added to ``sim.cases``)."""
    c, pop = sim.c, sim.pop
    plants.plan_plants(sim)
    income.plan_loads(sim)
    income.plan_contributions(sim)
    r = background.routine(sim)
    for d in range(pop.days):
        day = pop.start + d * DAY
        if day < c.opened or (c.closed and day > c.closed):
            continue
        for it in sim.settle_q.pop(day, []):
            sim.ledger -= it.settle_pence
            sim.holds -= it.amount_pence
        for it in sim.release_q.pop(day, []):
            sim.holds -= it.amount_pence
        todo = list(sim.planned.pop(day, []))
        todo += income.arrivals(sim, day)
        todo += background.background(sim, r, day)
        sim.run_today(todo)
    plants.finish_dormant(sim)
    return sim.items
