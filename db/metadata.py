"""The one ``MetaData`` every table is declared on, and the column type of a moment.

Why one: the migrations, the schema document and the tests need every table together; each layer
and area declares its own tables in its own module, on this object (``migrations.registry``).
"""

from __future__ import annotations

from sqlalchemy import DateTime, MetaData

metadata = MetaData()

TZ = DateTime(timezone=True)  # a moment: timestamptz on PostgreSQL, ISO text on SQLite; always UTC
