"""National-scale synthetic registry rows, and their COPY into PostgreSQL (bench/scale_bench.py).

The rows are those the registry itself writes for plain ITI-42 submissions
(`registry.store.rows_of`), made as text-format COPY lines without the model, so that ten
million documents cost little Python: each object's `body` is a template filled by
%-formatting, the `registry.codec.encode` text of the stored form (`registry.express.plan`)
of a bench/synthetic.py submission whose varying fields hold placeholders. Only the
templates' fixed parts and the value-set fragments are COPY-escaped (once); every value
filled in comes from an alphabet that needs no escaping (digits, hex, OIDs, HL7 `^` and
`&`). `check_rows` proves the shortcut: it decodes generated bodies, requires the
attributes a registered synthetic object has, asks `rows_of` for the rows of those objects
and requires the very same lines, so that a model or schema change the templates miss
fails before anything is loaded.

Distributions, seeded and deterministic: documents per patient from a Pareto draw (x_m 3,
alpha 1.2, capped at 400): median 3, nine patients in ten with at most 20, one in a
hundred beyond ~120, mean ~10. Submission sets of 1-5 documents, one patient each. Per
document about eight codes: class, type, format, facility, practice (drawn from the DMP
value sets as bench/synthetic.py draws them), one or two confidentiality codes, 0-3 event
codes; one author person (of 50,000), one reference id, times uniform over 2015-2024.
Patients come in blocks whose submissions are shuffled together, so that a patient's
documents lie apart in the tables, as years of submissions leave them.

`copy_rows` streams the batches (a block of patients each, never the whole data set) into
the tables: one thread makes them, a few connections COPY them, one transaction each.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import queue
import random
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine
from synthetic import CLASS_CODES, CLASS_SYSTEM, EVENT_SYSTEM, FORMATS, Generator, patient_id

from ebrim.dmp_value_sets import HEALTHCARE_FACILITY_TYPE_CODE, PRACTICE_SETTING_CODE, TYPE_CODE
from ebrim.hl7 import patient_key
from ebrim.model import Association, Code, DocumentEntry, RegistryObject, SubmissionSet
from ebrim.vocabulary import ClassificationScheme as Scheme
from registry import codec, express, store

# The columns COPY fills, in the order the lines give them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "merged_into", "demographics", "created_at", "updated_at"),
    "documents": (
        "entry_uuid", "logical_id", "version", "unique_id", "patient_id", "status",
        "object_type", "creation_time", "service_start_time", "service_stop_time", "hash",
        "size", "repository_unique_id", "home", "body",
    ),
    "submission_sets": (
        "entry_uuid", "unique_id", "patient_id", "status", "source_id", "submission_time",
        "home", "body",
    ),
    "associations": (
        "entry_uuid", "association_type", "source_uuid", "target_uuid", "status",
        "submission_set_status", "home", "body", "patient_id",
    ),
    "codes": ("object_uuid", "scheme", "code", "coding_scheme", "patient_id"),
    "author_persons": ("object_uuid", "person", "patient_id"),
    "reference_ids": ("object_uuid", "reference_id", "patient_id"),
    "unique_ids": ("unique_id", "kind", "logical_id", "patient_id"),
    "object_patients": ("entry_uuid", "patient_id"),
}  # fmt: skip
TABLES = tuple(COLUMNS)

PARETO_SCALE = 3
PARETO_ALPHA = 1.2
MAX_DOCUMENTS_PER_PATIENT = 400
PATIENTS_PER_BLOCK = 1024
DOCUMENT_ROOT = "1.2.250.1.999.6"  # synthetic.Generator's uniqueIds are under .2 and .3
SUBMISSION_SET_ROOT = "1.2.250.1.999.7"
FED_AT = "2025-01-01 00:00:00+00"
NULL = "\\N"
COPY_CHUNK = 1 << 20

CONFIDENTIALITY_SYSTEM = "2.16.840.1.113883.5.25"
MASKED = Code("MASQUE_PS", "1.2.250.1.213.1.1.4.13", "Masqué aux PS")
EVENTS = tuple(f"EV{n:03d}" for n in range(300))

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_UUID_BITS = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_UUID_V4 = (0x4 << 76) | (0x2 << 62)
_DAYS = tuple(
    (date(2015, 1, 1) + timedelta(days=n)).strftime("%Y%m%d")
    for n in range((date(2025, 1, 1) - date(2015, 1, 1)).days)
)


def copy_text(value: object) -> str:
    """One field of a text-format COPY line: NULL, or the text with its escapes."""
    return NULL if value is None else str(value).translate(_ESCAPES)


def copy_value(text: str) -> str | None:
    """The value of one COPY field (the inverse of `copy_text`)."""
    if text == NULL:
        return None
    return re.sub(r"\\(.)", lambda m: _UNESCAPES[m[1]], text)


def copy_line(values: Sequence[object]) -> str:
    return "\t".join(copy_text(v) for v in values) + "\n"


@dataclass(frozen=True)
class Pick:
    """Codes of a document attribute as they go in: the body's JSON and the `codes` rows."""

    json: str  # COPY-escaped
    rows: tuple[str, ...]  # each "\t<scheme>\t<code>\t<coding scheme>\t"

    @classmethod
    def of(cls, scheme: Scheme, codes: Sequence[Code], *, listed: bool = False) -> Pick:
        encoded = [codec.encode(code) for code in codes]
        text = f"[{','.join(encoded)}]" if listed else encoded[0]
        rows = tuple(
            "\t" + "\t".join(copy_text(v) for v in (scheme.value, c.code, c.scheme)) + "\t"
            for c in codes
        )
        return cls(copy_text(text), rows)


def stored_sample() -> tuple[DocumentEntry, SubmissionSet, Association]:
    """A one-document submission of bench/synthetic.py as the registry stores it."""
    plain = express.plan(Generator(patients=1).submission(1, patient=0), "20250101000000")
    assert plain is not None, "a synthetic submission is plain"
    (doc,) = (o for o in plain.objects if isinstance(o, DocumentEntry))
    (ss,) = (o for o in plain.objects if isinstance(o, SubmissionSet))
    (link,) = (o for o in plain.objects if isinstance(o, Association))
    return doc, ss, link


def _single(scheme: Scheme, codes: Sequence[Code]) -> tuple[Pick, ...]:
    return tuple(Pick.of(scheme, [code]) for code in codes)


@dataclass(frozen=True)
class Templates:
    """Bodies as %-format templates, and the columns every row of a kind shares."""

    document: str  # with event codes
    document_no_events: str
    submission_set: str
    association: str
    document_columns: str  # "\t<status>\t<objectType>\t" between patient_id and creation_time
    repository: str
    set_columns: str  # "\t<status>\t<sourceId>\t" between patient_id and submissionTime
    link_columns: str  # "\t<type>\t" after entry_uuid
    link_status: str  # "\t<status>\t<submissionSetStatus>\t\\N\t" between target and body
    content_type: Pick

    @classmethod
    def build(cls) -> Templates:
        """From one stored submission of bench/synthetic.py, placeholders put in."""
        doc, ss, link = stored_sample()
        assert ss.content_type_code is not None and doc.version == "1" and doc.home is None

        def slot(name: str) -> Code:
            return Code(f"@{name}@", "")

        document = dataclasses.replace(
            doc,
            entry_uuid="@uuid@",
            logical_id="@uuid@",
            unique_id="@uid@",
            patient_id="@pid@",
            source_patient_id="@spid@",
            authors=(dataclasses.replace(doc.authors[0], person="@person@"),),
            class_code=slot("class"),
            type_code=slot("type"),
            format_code=slot("format"),
            healthcare_facility_type_code=slot("facility"),
            practice_setting_code=slot("practice"),
            confidentiality_codes=(slot("conf"),),
            event_codes=(slot("events"),),
            creation_time="@ctime@",
            service_start_time="@start@",
            service_stop_time="@start@",
            hash="@hash@",
            size="@size@",
            reference_ids=("@ref@",),
        )
        submission_set = dataclasses.replace(
            ss,
            entry_uuid="@uuid@",
            logical_id="@uuid@",
            unique_id="@uid@",
            patient_id="@pid@",
            submission_time="@time@",
            authors=(dataclasses.replace(ss.authors[0], person="@person@"),),
        )
        association = dataclasses.replace(
            link, entry_uuid="@uuid@", source="@source@", target="@target@"
        )

        def template(obj: RegistryObject) -> str:
            text = copy_text(codec.encode(obj)).replace("%", "%%")
            for name in ("conf", "events"):  # a whole list of codes is one fragment
                text = text.replace(f"[{codec.encode(slot(name))}]", f"%({name})s")
            for name in ("class", "type", "format", "facility", "practice"):
                text = text.replace(codec.encode(slot(name)), f"%({name})s")
            text = re.sub(r"@(\w+)@", r"%(\1)s", text)
            assert "@" not in text, text
            return text

        return cls(
            document=template(document),
            document_no_events=template(dataclasses.replace(document, event_codes=())),
            submission_set=template(submission_set),
            association=template(association),
            document_columns=f"\t{copy_text(doc.status)}\t{copy_text(doc.object_type)}\t",
            repository=copy_text(doc.repository_unique_id),
            set_columns=f"\t{copy_text(ss.status)}\t{copy_text(ss.source_id)}\t",
            link_columns=f"\t{copy_text(link.association_type)}\t",
            link_status=(
                f"\t{copy_text(link.status)}\t{copy_text(link.submission_set_status)}\t{NULL}\t"
            ),
            content_type=Pick.of(Scheme.SS_CONTENT_TYPE_CODE, [ss.content_type_code]),
        )


@dataclass
class Batch:
    """The COPY lines of one block of patients, table by table."""

    lines: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in TABLES})
    documents: int = 0
    patients: int = 0

    @property
    def rows(self) -> int:
        return sum(len(lines) for lines in self.lines.values())


class Rows:
    """The rows of `size` documents, a block of patients per batch; deterministic per seed."""

    def __init__(
        self, size: int, seed: int = 7, patients_per_block: int = PATIENTS_PER_BLOCK
    ) -> None:
        self.size = size
        self.block = patients_per_block
        self.random = random.Random(seed)
        self.serial = 0  # of uniqueIds, as synthetic.Generator numbers them
        self.patients = 0
        self.per_patient: Counter[int] = Counter()  # documents -> how many patients have them
        self.templates = Templates.build()
        self.classes = _single(
            Scheme.DOC_CLASS_CODE, [Code(c, CLASS_SYSTEM, name) for c, name in CLASS_CODES]
        )
        self.types = _single(Scheme.DOC_TYPE_CODE, [Code(c, s, c) for c, s in sorted(TYPE_CODE)])
        self.formats = _single(
            Scheme.DOC_FORMAT_CODE,
            [Code(c, "1.3.6.1.4.1.19376.1.2.3", name) for c, name in FORMATS],
        )
        self.facilities = _single(
            Scheme.DOC_HEALTHCARE_FACILITY_TYPE_CODE,
            [Code(c, s, c) for c, s in sorted(HEALTHCARE_FACILITY_TYPE_CODE)],
        )
        self.practices = _single(
            Scheme.DOC_PRACTICE_SETTING_CODE,
            [Code(c, s, c) for c, s in sorted(PRACTICE_SETTING_CODE)],
        )
        # As synthetic.Generator: N four times in six, R, V; one document in ten masked.
        levels = [Code(c, CONFIDENTIALITY_SYSTEM, "Normal") for c in "NNNNRV"]
        conf = Scheme.DOC_CONFIDENTIALITY_CODE
        self.confidentiality = tuple(Pick.of(conf, [c], listed=True) for c in levels)
        self.masked = tuple(Pick.of(conf, [c, MASKED], listed=True) for c in levels)
        self.events = _single(Scheme.DOC_EVENT_CODE, [Code(e, EVENT_SYSTEM, e) for e in EVENTS])

    def batches(self) -> Iterator[Batch]:
        made = 0
        while made < self.size:
            batch = Batch()
            sets: list[tuple[str, str, int]] = []  # (patient id, key, documents) per set
            for _ in range(self.block):
                if made >= self.size:
                    break
                count = min(self._documents_per_patient(), self.size - made)
                made += count
                self.per_patient[count] += 1
                pid = patient_id(self.patients)
                key = patient_key(pid)
                self.patients += 1
                batch.patients += 1
                batch.lines["patients"].append(f"{key}\t{NULL}\t{NULL}\t{FED_AT}\t{FED_AT}\n")
                while count:
                    in_set = min(count, 1 + int(self.random.random() * 5))
                    sets.append((pid, key, in_set))
                    count -= in_set
            self.random.shuffle(sets)
            for pid, key, documents in sets:
                self._submission(batch, pid, key, documents)
            batch.documents = len(batch.lines["documents"])
            yield batch

    def _documents_per_patient(self) -> int:
        pareto = PARETO_SCALE * (1.0 - self.random.random()) ** (-1 / PARETO_ALPHA)
        return min(int(pareto) - PARETO_SCALE + 1, MAX_DOCUMENTS_PER_PATIENT)

    def _uuid(self) -> str:
        h = f"{self.random.getrandbits(128) & _UUID_BITS | _UUID_V4:032x}"
        return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _time(self) -> str:
        r = self.random.random
        second = int(r() * 86400)
        day = _DAYS[int(r() * len(_DAYS))]
        return f"{day}{second // 3600:02d}{second // 60 % 60:02d}{second % 60:02d}"

    def _person(self) -> str:
        rpps = 10_000_000_000 + int(self.random.random() * 50_000)
        return f"8{rpps}^MARTIN^CLAIRE^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"

    def _submission(self, batch: Batch, pid: str, key: str, documents: int) -> None:
        t, lines = self.templates, batch.lines
        ss = self._uuid()
        self.serial += 1
        uid = f"{SUBMISSION_SET_ROOT}.{self.serial}"
        person, time = self._person(), self._time()
        body = t.submission_set % {
            "uuid": ss,
            "uid": uid,
            "pid": pid,
            "time": time,
            "person": person,
        }
        lines["submission_sets"].append(
            f"{ss}\t{uid}\t{key}{t.set_columns}{time}\t{NULL}\t{body}\n"
        )
        lines["codes"].append(f"{ss}{t.content_type.rows[0]}{key}\n")
        lines["author_persons"].append(f"{ss}\t{person}\t{key}\n")
        lines["unique_ids"].append(f"{uid}\tsubmission_set\t{ss}\t{key}\n")
        lines["object_patients"].append(f"{ss}\t{key}\n")
        for _ in range(documents):
            doc = self._document(lines, pid, key)
            link = self._uuid()
            body = t.association % {"uuid": link, "source": ss, "target": doc}
            lines["associations"].append(
                f"{link}{t.link_columns}{ss}\t{doc}{t.link_status}{body}\t{key}\n"
            )
            lines["object_patients"].append(f"{link}\t{key}\n")

    def _document(self, lines: dict[str, list[str]], pid: str, key: str) -> str:
        """Add one document's rows; its entryUUID."""
        t, r = self.templates, self.random.random
        doc = self._uuid()
        self.serial += 1
        serial = self.serial
        uid = f"{DOCUMENT_ROOT}.{serial}"
        person, created = self._person(), self._time()
        start = created[:12]
        picked = (
            self.classes[int(r() * len(self.classes))],
            self.types[int(r() * len(self.types))],
            self.formats[int(r() * len(self.formats))],
            self.facilities[int(r() * len(self.facilities))],
            self.practices[int(r() * len(self.practices))],
            (self.masked if r() < 0.1 else self.confidentiality)[int(r() * 6)],
        )
        events = [self.events[i] for i in {int(r() * len(EVENTS)) for _ in range(int(r() * 4))}]
        hash_, size = f"{self.random.getrandbits(160):040x}", str(1000 + int(r() * 500_000))
        ref = f"V{serial}^^^&1.2.250.1.999.5&ISO^urn:ihe:iti:xds:2013:encounter"
        values = {
            "uuid": doc,
            "uid": uid,
            "pid": pid,
            "spid": f"{serial}^^^&1.2.250.1.999.4&ISO",
            "person": person,
            "class": picked[0].json,
            "type": picked[1].json,
            "format": picked[2].json,
            "facility": picked[3].json,
            "practice": picked[4].json,
            "conf": picked[5].json,
            "ctime": created,
            "start": start,
            "hash": hash_,
            "size": size,
            "ref": ref,
        }
        if events:
            values["events"] = "[" + ",".join(e.json for e in events) + "]"
            body = t.document % values
        else:
            body = t.document_no_events % values
        lines["documents"].append(
            f"{doc}\t{doc}\t1\t{uid}\t{key}{t.document_columns}{created}\t{start}00\t"
            f"{start}00\t{hash_}\t{size}\t{t.repository}\t{NULL}\t{body}\n"
        )
        lines["codes"].extend(
            f"{doc}{row}{key}\n" for pick in (*picked, *events) for row in pick.rows
        )
        lines["author_persons"].append(f"{doc}\t{person}\t{key}\n")
        lines["reference_ids"].append(f"{doc}\t{ref}\t{key}\n")
        lines["unique_ids"].append(f"{uid}\tdocument\t{doc}\t{key}\n")
        lines["object_patients"].append(f"{doc}\t{key}\n")
        return doc


def check_rows(seed: int = 7) -> None:
    """The generated lines are those `registry.store.rows_of` gives for their objects.

    Decodes the bodies of a small batch (as the registry's readers do), requires each to
    carry the attributes a registered synthetic object carries, then compares, table by
    table, the lines of `rows_of(objects)` with the generated ones.
    """
    batch = next(Rows(size=300, seed=seed, patients_per_block=32).batches())
    doc, ss, link = stored_sample()
    stored: dict[str, RegistryObject] = {
        "documents": doc,
        "submission_sets": ss,
        "associations": link,
    }
    objects: list[RegistryObject] = []
    for table, sample in stored.items():
        attributes = set(json.loads(codec.encode(sample)))
        at = COLUMNS[table].index("body")
        for line in batch.lines[table]:
            body = copy_value(line.rstrip("\n").split("\t")[at])
            assert body is not None
            missing = attributes - set(json.loads(body)) - {"event_codes"}  # 0-3 of them
            assert not missing, f"{table}: the bodies lack {sorted(missing)}"
            decoded: RegistryObject = codec.decode(type(sample), body)
            objects.append(decoded)
    expected = {t.name: rows for t, rows in store.rows_of(objects).items()}
    assert set(expected) == set(TABLES) - {"patients"}, sorted(expected)
    for table, rows in expected.items():
        assert set(rows[0]) == set(COLUMNS[table]), (table, sorted(rows[0]))
        wanted = sorted(copy_line([row[c] for c in COLUMNS[table]]) for row in rows)
        if wanted != sorted(batch.lines[table]):
            raise AssertionError(f"{table}: the generated rows are not the registry's")
    keys = {line.split("\t", 1)[0] for line in batch.lines["patients"]}
    assert keys == {row["patient_id"] for row in expected["documents"]}


class CopyStream:
    """A read-only text file over COPY lines: what `cursor.copy_expert` reads from."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        parts, have = [self._buffer], len(self._buffer)
        while size < 0 or have < size:
            line = next(self._lines, None)
            if line is None:
                break
            parts.append(line)
            have += len(line)
        data = "".join(parts)
        if size < 0:
            self._buffer = ""
            return data
        self._buffer = data[size:]
        return data[:size]

    def readline(self, size: int = -1) -> str:
        if not self._buffer:
            return next(self._lines, "")
        line, newline, self._buffer = self._buffer.partition("\n")
        return line + newline


def copy_rows(engine: Engine, rows: Rows, workers: int) -> Iterator[Batch]:
    """COPY every batch of `rows`, yielding each once committed.

    A thread makes the batches (a block of patients each) while `workers` threads, each
    on its own connection, COPY one batch per transaction: making the rows costs Python
    a tenth of what storing them costs PostgreSQL, whose work so spreads over the cores.
    """
    todo: queue.Queue[Batch | None] = queue.Queue(maxsize=workers + 1)
    done: queue.Queue[Batch | BaseException | None] = queue.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in itertools.chain(rows.batches(), [None] * workers):
                while not stop.is_set():
                    try:
                        todo.put(batch, timeout=1)
                        break
                    except queue.Full:
                        continue
                else:
                    return
        except BaseException as exc:  # handed over, raised by the caller
            done.put(exc)

    def copy() -> None:
        try:
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                while not stop.is_set():
                    try:
                        batch = todo.get(timeout=1)
                    except queue.Empty:
                        continue
                    if batch is None:
                        break
                    for table, lines in batch.lines.items():
                        sql = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
                        cursor.copy_expert(sql, CopyStream(lines), size=COPY_CHUNK)
                    raw.commit()
                    done.put(batch)
            finally:
                raw.close()
            done.put(None)
        except BaseException as exc:
            done.put(exc)

    threads = [threading.Thread(target=produce, name="scale-rows", daemon=True)]
    threads += [
        threading.Thread(target=copy, name=f"scale-copy-{n}", daemon=True) for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < workers:
            item = done.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                finished += 1
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()
