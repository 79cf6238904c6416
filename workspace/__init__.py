"""The workspace: the web pages safeguarding leads, audit, finance and admins use (``careledger serve``).

A top-layer package: it reads and changes data only through the named functions of the areas
(``records``, ``ledger.queries``, ``screening.cases`` and ``screening.queue``); its own tables are users,
sessions, sign-in attempts and the access log (``workspace/tables.py``). docs/workspace.md describes it.
"""
