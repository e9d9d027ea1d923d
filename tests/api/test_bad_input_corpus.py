"""A bad-input corpus, applied to every write route the app declares (issue #9).

The write routes (POST / PUT / PATCH with a JSON body) and the fields of their request schemas are read
from the app's OpenAPI document, not listed here: a new resource is covered the day it is added. Members of
a discriminated union (a service request's transitions) are walked one by one, with their tag.

Four layers, grouped so the run stays short:

1. Body-level corpus on every write operation: a body over MAX_BODY_BYTES (413; a chunked one without
   Content-Length too), 10,000 levels of nested objects (400, never a 500 or a RecursionError), truncated
   JSON (400), a non-JSON media type (415), an empty body, a top-level array for an object, an unknown field
   and mass assignment of `id` / `version` (422 `extra_forbidden` naming the field). The representative
   routes (layer 3) also get 10,000 nested arrays inside a field, undecodable bytes, a top-level string and
   a top-level 1e309.
2. A field walk on every write route: each string / number / date / date-time / flag / enum / list field of
   the request schema (nested objects and list items included) gets the values of its kind — 100,000
   characters, NUL, ESC, a bidi override, the wrong JSON type, numbers past their range (2**63, 1e309, NaN,
   ±Infinity), -1 and 0 where the schema asks for a positive value, a fraction or "1" for an integer, a JSON
   boolean for a number, impossible dates (2018-02-30, 2018-13-01, year 0), a date-time or a number for a
   date, naive and Unix-time instants. The k-th value of every field goes in one request (validation names
   every field it refuses, and each must be named in `errors[].loc`).
3. The full corpus on a representative set (users, API clients, enterprises create and change, projects
   create and change, milestones, land parcels, KPI bulk rows, disclosures, requests for disclosure, talents,
   meetings, webhooks, the yearly enforcement figures), one value at a time in an otherwise valid body (sent
   first and accepted), so each refusal is the value's own: the values above plus DEL, zero-width space, BOM
   and line separator, empty strings, fractional cents, "NaN" / "1e309" as text, dates such as 2018-1-1 and
   9999-12-31, ids of no row (422 `unknown_reference`), future dates the service refuses, server-owned and
   read-only fields of the answer — and the values that are legitimate and must be ACCEPTED and come back
   unchanged, in the answer and when read again: Chinese with emoji (a ZWJ sequence too), mixed scripts,
   SQL-looking text (`'; DROP TABLE enterprises;--`) and HTML-looking text (`<script>alert(1)</script>`) in
   names, titles and notes (codes and identifiers refuse them).
4. Every free-text query parameter of every GET route refuses NUL and a bidi override with a 422 naming it.

Every refusal must be an RFC 9457 problem: 4xx (never 5xx), `application/problem+json`, `type` / `title` /
`status` / `detail` / `code` / `request_id`, `type` naming the `code`, the `code` from a small stable set, no
internals. After every refused request the row counts of all tables are compared (one query); the content of
every table, the audit trail and the change log included, is hashed before and after each layer, and before and
after each field of the representative set.

Figures at the time of writing (printed with `-s`): 73 write operations (77 routes with the union members),
412 fields walked; layer 1: 726 requests; layer 2: 2,079 cases in 612 requests; layer 3: 15 routes, 80 fields,
953 requests (110 legitimate values accepted and read back); layer 4: 88 parameters, 176 requests. About 2,470
requests per database, 35-45 s on SQLite and on PostgreSQL on a shared 2-CPU machine.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, select

from app.core.db import Database
from app.models import Base
from app.schemas.common import MULTILINE_TEXT, VISIBLE_TEXT
from app.services.calculators.national_id import check_character as id_check_character
from app.services.calculators.uscc import check_character

Headers = dict[str, str]
Json = Any

PROBLEM = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
# The stable codes a refused write may carry; anything else is a new, undocumented code.
REFUSAL_CODES = {
    "validation_failed",
    "malformed_json",
    "malformed_body",
    "payload_too_large",
    "unsupported_media_type",
    "unknown_reference",
    "unknown_industry",
    "unknown_scope",
    "invalid_rows",
    "date_order",
    "date_in_future",
    "date_out_of_range",
    "period_in_future",
    "published_in_future",
    "out_of_order",
    "conflict",
    "duplicate",
}
DEPTH = 10_000
LONG = 100_000
SERVER_OWNED = ("id", "version", "created_at", "updated_at", "created_by")
FREE_TEXT = {VISIBLE_TEXT, MULTILINE_TEXT}
ABSENT_ID = 2_147_480_000
# Write-only secrets are hashed, never stored as text or shown to anyone, so no character can mislead a reader:
# they take any character (NIST SP 800-63B), only their length and type are checked.
WRITE_ONLY_SECRETS = {"password"}


# --- discovery ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    path: tuple[str | int, ...]
    kind: str  # string, enum, integer, number, decimal, date, datetime, boolean, array
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def label(self) -> str:
        return ".".join(str(p) for p in self.path)

    @property
    def free_text(self) -> bool:
        return self.kind == "string" and self.pattern in FREE_TEXT

    @property
    def positive(self) -> bool:
        return (self.exclusive_minimum is not None and self.exclusive_minimum >= 0) or (
            self.minimum is not None and self.minimum > 0
        )

    @property
    def non_negative(self) -> bool:
        return self.positive or (self.minimum is not None and self.minimum >= 0)


@dataclass(frozen=True)
class WriteRoute:
    method: str
    template: str
    schema: str
    object_body: bool
    properties: frozenset[str]
    fields: tuple[FieldSpec, ...]
    # A variant of a discriminated union: its tag, sent in every body, and where errors name it.
    context: tuple[tuple[str, str], ...] = ()

    @property
    def loc_prefix(self) -> tuple[str, ...]:
        return tuple(value for _, value in self.context)

    @property
    def url(self) -> str:
        parts = []
        for part in self.template.split("/"):
            if part.startswith("{"):
                # An id no row has: a value the schema wrongly accepts answers 404, and changes nothing.
                parts.append("2018" if "year" in part else str(ABSENT_ID))
            else:
                parts.append(part)
        return "/".join(parts)

    def __str__(self) -> str:
        tag = "".join(f"[{k}={v}]" for k, v in self.context)
        return f"{self.method} {self.template}{tag}"

    def body(self, path: tuple[str | int, ...], raw: str) -> bytes:
        return _embed(path, raw, self.context).encode()


class Spec:
    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        self.components: dict[str, Any] = openapi.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def options(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The non-null alternatives of a schema, unions flattened."""
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return [o for alt in schema[key] for o in self.options(alt)]
        if len(schema.get("allOf", ())) == 1:
            return self.options(schema["allOf"][0])
        if schema.get("type") == "null":
            return []
        return [schema]

    def fields(self, schema: dict[str, Any], prefix: tuple[str | int, ...], depth: int = 0) -> Iterator[FieldSpec]:
        opts = self.options(schema)
        if not opts or depth > 4:
            return
        if any("enum" in o or "const" in o for o in opts):
            yield FieldSpec(prefix, "enum")
            return
        types = {o.get("type") for o in opts}
        if "object" in types:
            obj = next(o for o in opts if o.get("type") == "object")
            for name, sub in obj.get("properties", {}).items():
                yield from self.fields(sub, (*prefix, name), depth + 1)
            return
        if "array" in types:
            arr = next(o for o in opts if o.get("type") == "array")
            yield FieldSpec(prefix, "array")
            yield from self.fields(arr.get("items", {}), (*prefix, 0), depth + 1)
            return
        if types == {"number", "string"}:
            kind, opt = "decimal", next(o for o in opts if o.get("type") == "number")
        elif "integer" in types:
            kind, opt = "integer", next(o for o in opts if o.get("type") == "integer")
        elif "number" in types:
            kind, opt = "number", next(o for o in opts if o.get("type") == "number")
        elif "boolean" in types:
            kind, opt = "boolean", opts[0]
        elif "string" in types:
            opt = next(o for o in opts if o.get("type") == "string")
            kind = {"date": "date", "date-time": "datetime"}.get(opt.get("format", ""), "string")
        else:
            return
        yield FieldSpec(
            prefix,
            kind,
            minimum=opt.get("minimum"),
            exclusive_minimum=opt.get("exclusiveMinimum"),
            maximum=opt.get("maximum"),
            min_length=opt.get("minLength"),
            max_length=opt.get("maxLength"),
            pattern=opt.get("pattern"),
        )

    def write_routes(self) -> list[WriteRoute]:
        routes: list[WriteRoute] = []
        for template, operations in self.openapi["paths"].items():
            for method, operation in operations.items():
                content = operation.get("requestBody", {}).get("content", {})
                if method.upper() not in {"POST", "PUT", "PATCH"} or "application/json" not in content:
                    continue
                raw = content["application/json"]["schema"]
                schema = self.resolve(raw)
                name = raw.get("$ref", "").rsplit("/", 1)[-1] or schema.get("title", "?")
                if "discriminator" in schema:
                    routes.extend(self._variants(method.upper(), template, schema))
                    continue
                is_object = schema.get("type") == "object" or "properties" in schema
                fields = tuple(self.fields(schema, ()))
                routes.append(
                    WriteRoute(
                        method.upper(),
                        template,
                        name,
                        is_object,
                        frozenset(schema.get("properties", {})),
                        fields,
                    )
                )
        return routes

    def _variants(self, method: str, template: str, schema: dict[str, Any]) -> Iterator[WriteRoute]:
        """One route per member of a discriminated union (e.g. a service request's transitions)."""
        tag = schema["discriminator"]["propertyName"]
        for value, ref in schema["discriminator"]["mapping"].items():
            variant = self.resolve({"$ref": ref})
            props = {k: v for k, v in variant.get("properties", {}).items() if k != tag}
            fields = tuple(f for name, sub in props.items() for f in self.fields(sub, (name,)))
            name = ref.rsplit("/", 1)[-1]
            yield WriteRoute(method, template, name, True, frozenset(variant["properties"]), fields, ((tag, value),))


def discover(app: Any) -> list[WriteRoute]:
    return Spec(app.openapi()).write_routes()


# --- the database must not change -------------------------------------------------------------------------


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


class Guard:
    """Row counts of every table (one query) and a hash of every table's content."""

    def __init__(self, database: Database) -> None:
        self.database = database
        tables = _tables()
        self.count_query = select(
            *[select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables]
        )
        self.tables = tables
        self.counts_before: tuple[int, ...] = ()
        self.digest_before = ""

    async def counts(self) -> tuple[int, ...]:
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(self.count_query)).one()
        return tuple(int(v) for v in row)

    async def digest(self) -> str:
        # The driver's own rows (no type processing): the same bytes whenever the stored values are the same.
        h = hashlib.sha256()
        async with self.database.engine.connect() as conn:
            for table in self.tables:
                order = ", ".join(f'"{c.name}"' for c in (table.primary_key.columns or table.columns))
                sql = f'SELECT * FROM "{table.name}" ORDER BY {order}'  # noqa: S608 - names from the metadata
                h.update(table.name.encode() + repr((await conn.exec_driver_sql(sql)).all()).encode())
        return h.hexdigest()

    async def mark(self, *, wrote: bool = False) -> None:
        """The state refusals must leave alone (the content hash is kept from the last check unless we wrote)."""
        self.counts_before = await self.counts()
        if wrote or not self.digest_before:
            self.digest_before = await self.digest()

    async def counts_changed(self) -> list[str]:
        """Tables whose row count moved since `mark` (then counted from where they are, so one leak is one failure)."""
        now = await self.counts()
        moved = [f"{t.name}: {a} → {b}" for t, a, b in zip(self.tables, self.counts_before, now, strict=True) if a != b]
        self.counts_before = now
        return moved

    async def content_changed(self) -> bool:
        now = await self.digest()
        changed, self.digest_before = now != self.digest_before, now
        return changed


def problem_issues(response: httpx.Response, statuses: set[int], codes: set[str]) -> list[str]:
    """What is wrong with a refusal (empty when it is a proper RFC 9457 problem of the expected kind)."""
    issues = []
    if response.status_code not in statuses:
        issues.append(f"status {response.status_code} not in {sorted(statuses)}")
    if not 400 <= response.status_code < 500:
        issues.append("not a 4xx")
    if response.headers.get("content-type", "").split(";")[0] != PROBLEM:
        issues.append(f"content-type {response.headers.get('content-type')}")
        return issues
    body = response.json()
    missing = PROBLEM_KEYS - body.keys()
    if missing:
        issues.append(f"problem lacks {sorted(missing)}")
    if body.get("status") != response.status_code:
        issues.append("problem status differs from the HTTP status")
    if body.get("code") not in codes:
        issues.append(f"code {body.get('code')!r} not in {sorted(codes)}")
    if not str(body.get("type", "")).endswith(str(body.get("code"))):
        issues.append("type does not name the code")
    if "Traceback" in response.text or "sqlalchemy" in response.text.lower():
        issues.append("internals in the answer")
    return issues


def names_field(response: httpx.Response, path: tuple[str | int, ...], route: WriteRoute) -> bool:
    if response.headers.get("content-type", "").split(";")[0] != PROBLEM:
        return False
    errors = response.json().get("errors") or []
    want = ["body", *route.loc_prefix, *path]
    return any(list(e.get("loc", []))[: len(want)] == want for e in errors)


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.requests = 0

    def add(self, where: str, issues: list[str], response: httpx.Response | None = None) -> None:
        if issues:
            tail = f" — {response.status_code} {response.text[:300]}" if response is not None else ""
            self.items.append(f"{where}: {'; '.join(issues)}{tail}")

    def check(self) -> None:
        assert self.items == [], f"{len(self.items)} failure(s):\n" + "\n".join(self.items[:60])


def _headers(admin_headers: Headers) -> Headers:
    # If-Match: * so that a PATCH / PUT reaches validation (without it the answer is 428).
    return admin_headers | {"content-type": "application/json", "If-Match": "*"}


def _embed(path: tuple[str | int, ...], raw: str, context: tuple[tuple[str, str], ...] = ()) -> str:
    """The JSON text of a body holding `raw` (JSON text) at `path`: ("rows", 0, "value") → {"rows":[{"value":…}]}.

    `context` (a union's tag) goes into the top-level object beside it."""
    text = raw
    for depth, part in reversed(list(enumerate(path))):
        if isinstance(part, int):
            text = f"[{text}]"
        else:
            tag = "".join(f"{json.dumps(k)}: {json.dumps(v)}, " for k, v in context) if depth == 0 else ""
            text = f"{{{tag}{json.dumps(part)}: {text}}}"
    return text


# --- 1. body-level corpus on every write route --------------------------------------------------------------


def _body_cases(
    route: WriteRoute, limit: int, full: bool
) -> Iterator[tuple[str, bytes, dict[str, str], set[int], set[str]]]:
    """(label, body, extra headers, accepted statuses, accepted codes); `full` adds the variants of the same
    parse failures (on the representative routes)."""
    first = next((f for f in route.fields if len(f.path) == 1), None)
    key = str(first.path[0]) if first else "x"
    bad_body = {400, 422}
    yield (
        "oversized",
        b'{"' + key.encode() + b'": "' + b"a" * (limit + 1) + b'"}',
        {},
        {413},
        {"payload_too_large"},
    )
    yield (
        "nested objects",
        b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
        {},
        bad_body,
        {"malformed_body", "validation_failed"},
    )
    yield "truncated", b'{"' + key.encode() + b'": ', {}, {400}, {"malformed_json"}
    yield "text/plain", b"{}", {"content-type": "text/plain"}, {415}, {"unsupported_media_type"}
    yield "empty", b"", {}, {422}, {"validation_failed"}
    if route.object_body:
        yield "top-level array", b"[]", {}, {422}, {"validation_failed"}
    else:
        yield "top-level object", b'{"x": 1}', {}, {422}, {"validation_failed"}
    if full:
        yield (
            "nested arrays in a field",
            b'{"' + key.encode() + b'": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
            {},
            bad_body,
            {"malformed_body", "validation_failed"},
        )
        yield "not json", b"\xff\xfe{}", {}, {400}, {"malformed_json", "malformed_body"}
        yield "top-level string", b'"x"', {}, {422}, {"validation_failed"}
        yield "top-level 1e309", b"1e309", {}, {422}, {"validation_failed"}


async def test_every_write_route_refuses_malformed_bodies(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any, database: Database
) -> None:
    routes = discover(app)
    limit: int = app.state.settings.max_body_bytes
    guard, failures, started = Guard(database), Failures(), time.perf_counter()
    headers = _headers(admin_headers)
    seen: set[tuple[str, str]] = set()
    representative = {(s.method, s.template) for s in SAMPLES}
    await guard.mark()
    for route in routes:
        if (route.method, route.template) not in seen:  # once per operation, not per union member
            seen.add((route.method, route.template))
            full = (route.method, route.template) in representative
            for label, body, extra, statuses, codes in _body_cases(route, limit, full):
                response = await client.request(route.method, route.url, content=body, headers=headers | extra)
                failures.requests += 1
                failures.add(f"{route} [{label}]", problem_issues(response, statuses, codes), response)
                failures.add(f"{route} [{label}] wrote", await guard.counts_changed())
        if route.object_body:
            # Unknown fields and server-owned fields (mass assignment) are refused by name.
            for name in ("zz_not_a_field", "id", "version"):  # all of SERVER_OWNED on the representative set
                if name in route.properties:
                    continue
                response = await client.request(
                    route.method, route.url, content=route.body((name,), "1"), headers=headers
                )
                failures.requests += 1
                issues = problem_issues(response, {422}, {"validation_failed"})
                want = ["body", *route.loc_prefix, name]
                if not any(
                    e["loc"] == want and e["type"] == "extra_forbidden" for e in response.json().get("errors") or []
                ):
                    issues.append(f"unknown field {name} not named as extra_forbidden")
                failures.add(f"{route} [unknown {name}]", issues, response)
                failures.add(f"{route} [unknown {name}] wrote", await guard.counts_changed())
    # Every row as it was (an update would leave the counts alone): the audit trail and the change log included.
    if await guard.content_changed():
        failures.add("the body corpus", ["database content changed"])
    failures.check()
    print(f"\nbody corpus: {len(seen)} operations, {failures.requests} requests, {time.perf_counter() - started:.1f}s")


async def test_a_chunked_body_over_the_limit_is_413(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any, database: Database
) -> None:
    """No Content-Length to trust: the limit is counted as the chunks arrive."""
    limit: int = app.state.settings.max_body_bytes
    guard = Guard(database)
    await guard.mark()

    async def chunks() -> Any:
        yield b'{"name": "'
        for _ in range(limit // 65_536 + 2):
            yield b"a" * 65_536
        yield b'"}'

    response = await client.post("/api/v1/enterprises", content=chunks(), headers=_headers(admin_headers))
    assert "content-length" not in response.request.headers
    assert problem_issues(response, {413}, {"payload_too_large"}) == [], response.text
    assert not await guard.content_changed()


# --- 2. a field walk on every write route --------------------------------------------------------------------


def _filler(spec: FieldSpec, inner: str) -> str:
    """`inner` padded with letters to the field's minimum length, so a refusal is not for shortness."""
    need = max((spec.min_length or 1) - len(inner), 0)
    return "a" * (need // 2) + inner + "a" * (need - need // 2)


def walk_values(spec: FieldSpec) -> Iterator[tuple[str, str]]:
    """(label, JSON text) values of the field's kind that its schema must refuse."""
    kind = spec.kind
    if kind == "string":
        yield "100k chars", json.dumps("a" * LONG)
        yield "number", "12345"
        if spec.path[-1] in WRITE_ONLY_SECRETS:
            return
        yield "NUL", json.dumps(_filler(spec, "ab\x00cd"))
        yield "ESC", json.dumps(_filler(spec, "ab\x1b[2Jcd"))
        yield "bidi override", json.dumps(_filler(spec, "ab\u202ecd"))
    elif kind == "enum":
        yield "unknown member", '"zz_no_such_value"'
        yield "number", "7"
    elif kind == "integer":
        yield "2**63", str(2**63)
        yield "1e309", "1e309"
        yield "fraction", "1.5"
        yield "text", '"abc"'
        yield "numeric text", '"1"'  # JSON integers only: "1" is not coerced (DESIGN §4, like ids and flags)
        yield "true", "true"
        if spec.non_negative:
            yield "-1", "-1"
        if spec.positive:
            yield "0", "0"
    elif kind in {"decimal", "number"}:
        yield "1e309", "1e309"
        yield "NaN", "NaN"
        yield "Infinity", "Infinity"
        yield "-Infinity", "-Infinity"
        yield "2**63", str(2**63) + "000000"
        yield "text", '"abc"'
        yield "true", "true"
        if spec.non_negative:
            yield "-1", "-1"
        if spec.positive:
            yield "0", "0"
    elif kind == "date":
        yield "2018-02-30", '"2018-02-30"'
        yield "2018-13-01", '"2018-13-01"'
        yield "year 0", '"0000-01-01"'
        yield "date-time", '"2018-10-31T08:00:00+08:00"'
        yield "number", "20181031"
    elif kind == "datetime":
        yield "2018-02-30", '"2018-02-30T10:00:00+08:00"'
        yield "naive", '"2018-10-31T10:00:00"'
        yield "unix time", "1540951200"
    elif kind == "boolean":
        yield "text", '"true"'
        yield "number", "1"
    elif kind == "array":
        yield "not a list", '"abc"'


def _merged(values: list[tuple[tuple[str | int, ...], str]], context: tuple[tuple[str, str], ...]) -> bytes:
    """One body holding each raw JSON value at its path (list items at index 0), beside a union's tag."""
    if len(values) == 1 and not values[0][0]:
        return values[0][1].encode()  # the body itself (a list body, sent something else)
    tree: dict[str | int, Any] = {key: json.dumps(value) for key, value in context}
    for path, raw in values:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = raw

    def text(node: Any) -> str:
        if isinstance(node, str):
            return node
        if all(isinstance(k, int) for k in node):
            return "[" + ", ".join(text(node[k]) for k in sorted(node)) + "]"
        return "{" + ", ".join(f"{json.dumps(k)}: {text(v)}" for k, v in node.items()) + "}"

    return text(tree).encode()


def walk_requests(route: WriteRoute) -> Iterator[list[tuple[FieldSpec, str, str]]]:
    """The walk's values in few requests: the k-th value of every field together (validation names each field it
    refuses, so each must be named); a list and its items apart."""
    lists = [f for f in route.fields if f.kind == "array" and f.path]
    whole = [[f] for f in route.fields if not f.path]
    for group in ([f for f in route.fields if f.kind != "array"], lists, *whole):
        values = {f: list(walk_values(f)) for f in group}
        for k in range(max((len(v) for v in values.values()), default=0)):
            yield [(f, *values[f][k]) for f in group if k < len(values[f])]


async def test_every_field_of_every_write_route_refuses_values_of_the_wrong_shape(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any, database: Database
) -> None:
    routes = discover(app)
    guard, failures, started = Guard(database), Failures(), time.perf_counter()
    headers = _headers(admin_headers)
    cases = 0
    await guard.mark()
    for route in routes:
        for batch in walk_requests(route):
            body = _merged([(spec.path, raw) for spec, _, raw in batch], route.context)
            response = await client.request(route.method, route.url, content=body, headers=headers)
            failures.requests += 1
            cases += len(batch)
            issues = problem_issues(response, {422}, {"validation_failed"})
            if issues:
                failures.add(f"{route} [{', '.join(f'{s.label}={label}' for s, label, _ in batch)}]", issues, response)
            for spec, label, _ in batch:
                if not issues and not names_field(response, spec.path, route):
                    failures.add(f"{route} {spec.label} [{label}]", ["the refusal does not name the field"], response)
            failures.add(f"{route} {batch[0][0].label}… wrote", await guard.counts_changed())
    if await guard.content_changed():
        failures.add("the field walk", ["database content changed"])
    failures.check()
    fields = sum(len(r.fields) for r in routes)
    print(
        f"\nfield walk: {len(routes)} routes, {fields} fields, {cases} cases in {failures.requests} requests, "
        f"{time.perf_counter() - started:.1f}s"
    )


# --- 3. the full corpus on a representative set, with otherwise valid bodies -------------------------------

# Text that is legitimate in a name, a title or a note: accepted, stored and returned exactly as sent.
LEGITIMATE_TEXT = {
    "Chinese + emoji": "海珠区琶洲🚀科技有限公司",
    "ZWJ emoji sequence": "王家 👨\u200d👩\u200d👧 海珠区",
    "mixed scripts": "Ünïcödé Ελληνικά Кириллица العربية 日本語 한국어",
    "SQL-looking": "'; DROP TABLE enterprises;--",
    "HTML-looking": "<script>alert(1)</script>",
}
# On codes and identifiers (which refuse far more than these) the corpus sends fewer of them.
CODED_HIDDEN = {"NUL", "bidi override", "zero-width space", "BOM"}
CODED_LEGITIMATE = {"Chinese + emoji", "SQL-looking", "HTML-looking"}
# Characters that hide or reorder what a reader sees, or that no database column should hold.
HIDDEN_CHARACTERS = {
    "NUL": "\x00",
    "ESC": "\x1b[2J",
    "DEL": "\x7f",
    "bidi override": "\u202e",
    "zero-width space": "\u200b",
    "BOM": "\ufeff",
    "line separator": "\u2028",
}


@dataclass(frozen=True)
class Setup:
    zone_id: int
    enterprise_id: int
    project_id: int


def uscc(serial: int) -> str:
    first17 = f"91440105MA5{serial:06d}"
    return first17 + check_character(first17)


def national_id(serial: int) -> str:
    first17 = f"44010519900307{serial % 1000:03d}"
    return first17 + id_check_character(first17)


@dataclass(frozen=True)
class Sample:
    """A representative write with a valid body; `serial` keeps unique keys unique from one request to the next."""

    method: str
    template: str
    body: Callable[[Setup, int], dict[str, Json]]
    url: Callable[[Setup], str] | None = None
    not_in_future: frozenset[str] = frozenset()  # dates the service refuses after today
    upper: frozenset[str] = frozenset()  # text stored upper case (codes): the round-trip is the upper-cased text
    # Fields the answer does not carry, read back elsewhere: field → (URL from the answer, path in what it returns).
    elsewhere: tuple[tuple[str, Callable[[Json], str], tuple[str | int, ...]], ...] = ()

    def target(self, setup: Setup) -> str:
        return self.url(setup) if self.url else self.template


SAMPLES = [
    Sample(
        "POST",
        "/api/v1/users",
        lambda s, n: {
            "username": f"corpus.user{n}",
            "display_name": "测试用户",
            "role": "viewer",
            "password": "correct horse battery",
        },
    ),
    Sample("POST", "/api/v1/clients", lambda s, n: {"name": f"区统计局{n}", "scopes": ["kpis:read"]}),
    Sample(
        "POST",
        "/api/v1/enterprises",
        lambda s, n: {
            "uscc": uscc(n),
            "name": f"广州示例科技有限公司{n}",
            "registered_capital": "10000000.00",
            "currency": "CNY",
            "established_on": "2018-02-01",
            "settled_on": "2018-03-15",
            "industry_code": "64",
            "source": "new",
            "zone_id": s.zone_id,
            "investor_classes": [{"investor_class": "fortune_global_500", "list_year": 2018}],
            "contacts": [{"name": "陈小明", "phone": "13812345678", "position": "董事长秘书"}],
        },
        upper=frozenset({"uscc"}),
    ),
    Sample(
        "PATCH",
        "/api/v1/enterprises/{enterprise_id}",
        lambda s, n: {
            "name": f"改名示例有限公司{n}",
            "registered_capital": "20000000.00",
            "established_on": "2017-01-01",
        },
        url=lambda s: f"/api/v1/enterprises/{s.enterprise_id}",
    ),
    Sample(
        "POST",
        "/api/v1/projects",
        lambda s, n: {
            "name": f"琶洲示例总部项目{n}",
            "code_name": f"A-{n:03d}",
            "enterprise_id": s.enterprise_id,
            "zone_id": s.zone_id,
            "is_key": True,
            "planned_investment": "500000000.00",
            "introduced_on": "2018-03-01",
            "note": "首次洽谈",
        },
        not_in_future=frozenset({"introduced_on"}),
        # The note goes with the first stage event.
        elsewhere=(("note", lambda r: f"/api/v1/projects/{r['id']}/stage-events", (0, "note")),),
    ),
    Sample(
        "PATCH",
        "/api/v1/projects/{project_id}",
        lambda s, n: {"name": f"改名项目{n}", "planned_investment": "1.00", "is_key": False},
        url=lambda s: f"/api/v1/projects/{s.project_id}",
    ),
    Sample(
        "POST",
        "/api/v1/projects/{project_id}/milestones",
        lambda s, n: {"track": "construction", "name": "取得施工许可证", "planned_on": "2018-06-30", "sort_order": 1},
        url=lambda s: f"/api/v1/projects/{s.project_id}/milestones",
    ),
    Sample(
        "POST",
        "/api/v1/land-parcels",
        lambda s, n: {
            "code": f"AH{n:06d}",
            "zone_id": s.zone_id,
            "area_m2": "12000.50",
            "planned_use": "商务设施用地 B2",
            "transferred_on": "2018-05-01",
            "buyer_enterprise_id": s.enterprise_id,
            "price": "300000000.00",
        },
        upper=frozenset({"code"}),
    ),
    Sample(
        "POST",
        "/api/v1/kpi-facts/bulk",
        lambda s, n: {
            "rows": [
                {
                    "enterprise_id": s.enterprise_id,
                    "metric": "revenue",
                    "period": f"2018-{n % 12 + 1:02d}",
                    "reported_as": "monthly",
                    "value": "1000.00",
                }
            ]
        },
    ),
    Sample(
        "POST",
        "/api/v1/disclosures",
        lambda s, n: {
            "title": f"关于示例事项的通知{n}",
            "category": "notices",
            "channels": ["website", "wechat"],
            "published_at": "2018-06-01T10:00:00+08:00",
            "link": "https://www.haizhu.gov.cn/a/1",
        },
    ),
    Sample(
        "POST",
        "/api/v1/disclosure-requests",
        lambda s, n: {
            "applicant_type": "natural_person",
            "applicant_name": "张三",
            "subject": "申请公开某项目环评批复",
            "received_on": "2018-06-01",
            "note": "邮寄",
        },
        not_in_future=frozenset({"received_on"}),
    ),
    Sample(
        "POST",
        "/api/v1/talents",
        lambda s, n: {
            "name": "王小明",
            "enterprise_id": s.enterprise_id,
            "role": "senior_executive",
            "position": "副总裁",
            "national_id": national_id(n),
            "phone": "13812345678",
        },
        upper=frozenset({"national_id"}),
    ),
    Sample(
        "POST",
        "/api/v1/meetings",
        lambda s, n: {
            "kind": "office_meeting",
            "held_on": "2018-06-01",
            "title": "办务会",
            "topics": "研究招商项目",
            "attendees": 12,
        },
        not_in_future=frozenset({"held_on"}),
    ),
    Sample(
        "POST",
        "/api/v1/webhooks",
        lambda s, n: {
            "url": f"https://hooks.example.com/zhaoshang/{n}",
            "event_types": ["project.stage_changed", "disclosure.published"],
            "description": "区政务公开平台",
        },
    ),
    Sample(
        "PUT",
        "/api/v1/reports/disclosure/{year}/enforcement-figures",
        lambda s, n: {"licensing_decisions": 3, "penalty_decisions": 1, "coercion_decisions": 0, "fee_income": "0.00"},
        url=lambda s: "/api/v1/reports/disclosure/2018/enforcement-figures",
    ),
]


def _leaves(value: Json, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Json]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _leaves(sub, (*path, i))
    else:
        yield path, value


def _replaced(body: Json, path: tuple[str | int, ...], raw: str) -> bytes:
    """The body with the JSON text `raw` at `path` (raw, so that NaN, Infinity and 1e309 go out as sent)."""
    marker = "\ue000corpus\ue000"
    copy = json.loads(json.dumps(body))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = marker
    return json.dumps(copy, ensure_ascii=False).replace(json.dumps(marker, ensure_ascii=False), raw).encode()


def _at(value: Json, path: tuple[str | int, ...]) -> Json:
    for part in path:
        value = value[part]
    return value


def _inject(good: str, inner: str) -> str:
    # In a URL, into the path (in the host name, IDNA would refuse it for its own reasons).
    at = len(good) - 1 if good.startswith("http") else max(len(good) // 2, 1)
    return good[:at] + inner + good[at:]


def full_corpus(spec: FieldSpec, good: Json, sample: Sample) -> Iterator[tuple[str, str, bool]]:
    """(label, JSON text, accepted?) for one field of a valid body."""
    name = str(spec.path[-1])
    dumps = json.dumps
    if spec.kind == "string" and isinstance(good, str):
        yield "100k chars", dumps(good + "x" * LONG), False
        yield "number", "12345", False
        yield "list", dumps([good]), False
        yield "empty", '""', False
        if name in WRITE_ONLY_SECRETS:
            return
        for label, inner in HIDDEN_CHARACTERS.items():
            if spec.free_text or label in CODED_HIDDEN:
                yield label, dumps(_inject(good, inner)), False
        for label, text in LEGITIMATE_TEXT.items():
            # Names, titles and notes take them; codes, numbers and identifiers do not.
            if spec.free_text or label in CODED_LEGITIMATE:
                yield label, dumps(text), spec.free_text and (spec.max_length or LONG) >= len(text)
    elif spec.kind == "enum":
        yield "unknown member", '"zz_no_such_value"', False
        yield "upper case", dumps(str(good).upper()), False
        yield "empty", '""', False
        yield "number", "1", False
    elif spec.kind in {"decimal", "number"}:
        for literal in ("1e309", "NaN", "Infinity", "-Infinity"):
            yield literal, literal, False
        for text in ("NaN", "1e309", "1.001"):
            yield f"string {text!r}", dumps(text), False
        yield "2**63", str(2**63), False
        yield "true", "true", False
        if spec.non_negative:
            yield "-1", "-1", False
            yield "-0.01", '"-0.01"', False
        if spec.positive:
            yield "0", "0", False
            yield "0.00", '"0.00"', False
    elif spec.kind == "integer":
        for label, raw in (("2**63", str(2**63)), ("2**31", str(2**31)), ("1e309", "1e309"), ("NaN", "NaN")):
            yield label, raw, False
        for label, raw in (("fraction", "1.5"), ("string", '"1"'), ("true", "true")):
            yield label, raw, False
        if spec.non_negative:
            yield "-1", "-1", False
        if spec.positive:
            yield "0", "0", False
        if name.endswith("_id"):
            yield "no such row", str(ABSENT_ID), False
    elif spec.kind == "date":
        for text in ("2018-02-30", "2018-13-01", "0000-01-01", "2018-1-1", "9999-12-31"):
            yield text, dumps(text), False
        yield "date-time", '"2018-10-31T08:00:00+08:00"', False
        yield "number", "20181031", False
        if name in sample.not_in_future:
            yield "future", '"2099-01-01"', False
    elif spec.kind == "datetime":
        for text in (
            "2018-02-30T10:00:00+08:00",
            "2018-10-31T25:00:00+08:00",
            "2018-10-31T10:00:00",
            "0000-01-01T00:00:00+00:00",
            "1540951200",
        ):
            yield text, dumps(text), False
        yield "unix time", "1540951200", False
    elif spec.kind == "boolean":
        for label, raw in (("string", '"true"'), ("1", "1"), ("0", "0"), ("yes", '"yes"')):
            yield label, raw, False


@pytest.fixture
async def setup(client: httpx.AsyncClient, admin_headers: Headers) -> Setup:
    zone = await client.post(
        "/api/v1/zones", json={"code": "pazhou", "name": "琶洲", "kind": "cluster"}, headers=admin_headers
    )
    assert zone.status_code == 201, zone.text
    company = await client.post(
        "/api/v1/enterprises",
        json={
            "uscc": uscc(999_999),
            "name": "广州基础示例有限公司",
            "registered_capital": "1000000.00",
            "industry_code": "64",
            "source": "new",
        },
        headers=admin_headers,
    )
    assert company.status_code == 201, company.text
    project = await client.post(
        "/api/v1/projects", json={"name": "基础项目", "introduced_on": "2018-01-05"}, headers=admin_headers
    )
    assert project.status_code == 201, project.text
    return Setup(zone.json()["id"], company.json()["id"], project.json()["id"])


async def test_the_full_corpus_on_a_representative_set(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any, database: Database, setup: Setup
) -> None:
    routes = {(r.method, r.template): r for r in discover(app)}
    guard, failures, started = Guard(database), Failures(), time.perf_counter()
    headers = _headers(admin_headers)
    serial, fields, accepted = 0, 0, 0
    for sample in SAMPLES:
        route = routes[(sample.method, sample.template)]
        specs = {tuple(0 if isinstance(p, int) else p for p in f.path): f for f in route.fields}
        url = sample.target(setup)
        # The valid body is accepted as it is: every refusal below is the corpus value's own doing.
        serial += 1
        control = await client.request(sample.method, url, json=sample.body(setup, serial), headers=headers)
        assert control.status_code in {200, 201}, f"{sample.method} {url}: {control.text}"
        read_only = (
            {k for k in control.json() if k not in route.properties} if isinstance(control.json(), dict) else set()
        )
        await guard.mark(wrote=True)
        for path, good in _leaves(sample.body(setup, 0)):
            spec = specs.get(tuple(0 if isinstance(p, int) else p for p in path))
            assert spec is not None, f"{route}: {path} is not in the OpenAPI schema"
            fields += 1
            refusals_checked = False
            cases = list(full_corpus(spec, good, sample))
            # The refusals first, then the check that they left every row alone, then the legitimate values.
            for label, raw, ok in sorted(cases, key=lambda case: case[2]):
                if ok and not refusals_checked:
                    refusals_checked = True
                    if await guard.content_changed():
                        failures.add(f"{route} {spec.label}", ["database content changed by a refused write"])
                serial += 1
                body = sample.body(setup, serial)
                response = await client.request(sample.method, url, content=_replaced(body, path, raw), headers=headers)
                failures.requests += 1
                where = f"{route} {spec.label} [{label}]"
                if ok:
                    accepted += 1
                    sent = json.loads(raw)
                    failures.add(where, await _round_trip(client, headers, response, path, sent, sample, url))
                    continue
                issues = problem_issues(response, {400, 409, 422}, REFUSAL_CODES) + await guard.counts_changed()
                failures.add(where, issues, response)
            if any(ok for _, _, ok in cases):
                await guard.mark(wrote=True)  # the legitimate values were written: go on from there
            elif await guard.content_changed():
                failures.add(f"{route} {spec.label}", ["database content changed by a refused write"])
        # Unknown fields, server-owned fields and read-only fields of the answer: refused by name (no mass assignment).
        for name in sorted({"zz_not_a_field", *SERVER_OWNED, *read_only} - route.properties):
            serial += 1
            body = sample.body(setup, serial) | {name: _at(control.json(), (name,)) if name in read_only else 1}
            response = await client.request(sample.method, url, json=body, headers=headers)
            failures.requests += 1
            issues = problem_issues(response, {422}, {"validation_failed"})
            if not names_field(response, (name,), route):
                issues.append("the extra field is not named")
            issues += await guard.counts_changed()
            failures.add(f"{route} [extra {name}]", issues, response)
        if await guard.content_changed():
            failures.add(str(route), ["database content changed by a refused write"])
    failures.check()
    print(
        f"\nrepresentative: {len(SAMPLES)} routes, {fields} fields, {failures.requests} requests "
        f"({accepted} legitimate values accepted), {time.perf_counter() - started:.1f}s"
    )


async def _round_trip(
    client: httpx.AsyncClient,
    headers: Headers,
    response: httpx.Response,
    path: tuple[str | int, ...],
    sent: Json,
    sample: Sample,
    url: str,
) -> list[str]:
    """A legitimate value was accepted and comes back verbatim, in the answer and when read again."""
    if response.status_code not in {200, 201}:
        return [f"refused a legitimate value: {response.status_code} {response.text[:200]}"]
    expected = sent.upper() if path[-1] in sample.upper and isinstance(sent, str) else sent
    answer = response.json()
    reads = [(answer, path, "answered")]
    for name, where, at in sample.elsewhere:
        if path == (name,):
            reads = [((await client.get(where(answer), headers=headers)).json(), at, "read back")]
    location = response.headers.get("location") or (url if sample.method in {"PATCH", "PUT"} else None)
    if location and reads[0][2] == "answered":
        reads.append(((await client.get(location, headers=headers)).json(), path, "read back"))
    return [f"{how} {_at(got, at)!r}, not {expected!r}" for got, at, how in reads if _at(got, at) != expected]


# --- 4. text in query strings ------------------------------------------------------------------------------


def text_query_parameters(app: Any) -> list[tuple[str, str, FieldSpec]]:
    """(path, name, spec) of every free-form text query parameter (not an enum, not a date or a number)."""
    spec = Spec(app.openapi())
    found = []
    for template, operations in spec.openapi["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] != "query":
                continue
            for field in spec.fields(parameter["schema"], (parameter["name"],)):
                if field.kind == "string":
                    found.append((template, parameter["name"], field))
    return found


async def test_every_text_query_parameter_refuses_control_characters(
    client: httpx.AsyncClient, admin_headers: Headers, app: Any, database: Database
) -> None:
    """NUL cannot even be sent to PostgreSQL (it answered 500 on the audit filters, `uscc`, `national_id` and
    `key_cohort`): every text parameter refuses it, and the bidi override, with a 422 naming the parameter."""
    guard, failures = Guard(database), Failures()
    await guard.mark()
    parameters = text_query_parameters(app)
    for template, name, spec in parameters:
        url = WriteRoute("GET", template, "", False, frozenset(), ()).url
        for label, value in (("NUL", "ab\x00cd"), ("bidi override", "ab\u202ecd")):
            response = await client.get(url, params={name: _filler(spec, value)}, headers=admin_headers)
            failures.requests += 1
            # A change feed's cursor is checked by the feed, with its own code.
            issues = problem_issues(response, {422}, {"invalid_cursor" if name == "cursor" else "validation_failed"})
            errors = [] if issues else response.json().get("errors") or []
            if not issues and name != "cursor" and not any(e["loc"][:2] == ["query", name] for e in errors):
                issues.append("the refusal does not name the parameter")
            failures.add(f"GET {template}?{name} [{label}]", issues + await guard.counts_changed(), response)
    assert len(parameters) > 30  # the walk sees the API's filters
    failures.check()
    print(f"\nquery walk: {len(parameters)} parameters, {failures.requests} requests")
