"""Querysets compiled once per process: the hot reads' SQL is built from the ORM the first time and
reused with new parameter values.

Compiling a queryset (resolving lookups and joins, choosing columns, quoting) costs more CPU than
running it on a warm database: a pack detail's two queries spent about a third of the request's
CPU there. A `CompiledQuery` is defined by a function building the queryset from its parameters;
it is called once with marker values, its SQL and parameter list kept per database alias, and each
call runs that SQL with the real values. Rows become model instances the way the queryset's own
iterator makes them (field converters, `select_related` populators), so callers get the same
objects. Only parameters that stay parameters in the SQL qualify (values compared or matched in
WHERE; not LIMIT, not values folded into the SQL text) — the compiler checks that every marker
appears exactly once.
"""

import threading
from functools import partial

from django.db import connections, router
from django.db.models.query import get_related_populators


class CompiledQuery:
    def __init__(self, build, *markers):
        """`build(*values)` returns the queryset; `markers` are distinct values of the parameters'
        types that no real call passes (they locate the parameters in the compiled SQL)."""
        self.build = build
        self.markers = markers
        self.model = build(*markers).model
        self._compiled: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> tuple:
        queryset = self.build(*self.markers).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = []
        for marker in self.markers:
            found = [i for i, value in enumerate(params) if value == marker]
            if len(found) != 1:
                raise ValueError(f"{self.model.__name__}: marker {marker!r} is {len(found)} parameters of {sql}")
            slots.append(found[0])
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        fetch_mode = queryset._fetch_mode  # Django's default: fetch one related row on access
        populators = get_related_populators(klass_info, select, alias, fetch_mode)
        if fetch_mode.track_peers:
            raise ValueError(f"{self.model.__name__}: fetch modes tracking peers are not compiled")
        from_db = partial(self.model.from_db, fetch_mode=fetch_mode)
        return compiler, sql, list(params), slots, (start, end), init_list, populators, from_db

    def __call__(self, *values) -> list:
        alias = router.db_for_read(self.model) or "default"
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(alias) or self._compiled.setdefault(alias, self._compile(alias))
        compiler, sql, params, slots, (start, end), init_list, populators, from_db = compiled
        params = list(params)
        for slot, value in zip(slots, values, strict=True):
            params[slot] = value
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        objects = []
        for row in compiler.results_iter([rows]):
            obj = from_db(alias, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects
