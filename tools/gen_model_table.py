#!/usr/bin/env python3
"""Generate the request-validation tables from botocore's KMS service model.

Writes (paths relative to the repository root):
  server/protocol/model_table.cpp   constexpr tables, see server/protocol/model_table.hpp
  tests/data/kms_operations.txt     the operation names, sorted, one per line

Usage:
  gen_model_table.py [--model PATH]            regenerate both files
  gen_model_table.py --check [--model PATH]    exit 1 if the committed files are stale

The model is botocore's data/kms/2014-11-01/service-2.json(.gz). Without --model the newest
botocore found is used: the one importable by this python, then
/root/.pyenv/versions/*/lib/python*/site-packages/botocore and
/usr/lib/python3/dist-packages/botocore.

The header of model_table.cpp records model-sha256, the sha256 of the canonical JSON of exactly
the model data the tables are built from (operation -> input shape, and for each reachable shape
its type, bounds, enum, pattern, sensitive flag, members and required list; no documentation).
--check without --model looks for a model whose sha matches that line, regenerates from it and
compares byte for byte. Different botocore releases with the same KMS request model therefore
all check clean, and a machine that only has an older model (Debian's python3-botocore) prints
"skipped" and exits 0 after checking that the committed files are consistent with each other
(content-sha256 and the operation list). With --model the comparison is strict.
"""

import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_CPP = os.path.join("server", "protocol", "model_table.cpp")
OUT_OPS = os.path.join("tests", "data", "kms_operations.txt")
MODEL_REL = os.path.join("data", "kms", "2014-11-01")

KINDS = {
    "string": "kString",
    "blob": "kBlob",
    "integer": "kInteger",
    "boolean": "kBoolean",
    "timestamp": "kTimestamp",
    "list": "kList",
    "map": "kMap",
    "structure": "kStructure",
}
SCALARS = ("string", "blob", "integer", "boolean", "timestamp")
MAX_DEPTH = 8  # validation.cpp keeps the member path in a fixed array of this size

# AWS lists enum values in ValidationException texts in its own (hash-set) order, which the model
# does not carry; by default we use model order. Where a response recorded against AWS pins the
# order (recorded from AWS), it is listed here. An override must be a permutation of
# the model's values, so a model change that adds a value fails generation instead of drifting.
ENUM_ORDER_OVERRIDES = {
    # GenerateMac with a bad MacAlgorithm, recorded against AWS.
    "MacAlgorithmSpec": ["HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"],
}


class ModelError(Exception):
    pass


# --- locating and loading models -------------------------------------------------------------


def botocore_version(botocore_dir):
    try:
        with open(os.path.join(botocore_dir, "__init__.py"), encoding="utf-8") as f:
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
            return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"


def version_key(version):
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.]", version))


def model_file_in(botocore_dir):
    for name in ("service-2.json.gz", "service-2.json"):
        path = os.path.join(botocore_dir, MODEL_REL, name)
        if os.path.isfile(path):
            return path
    return None


def candidate_models():
    """All KMS models found, newest botocore first: [(path, description)]."""
    dirs = []
    try:
        import botocore  # noqa: PLC0415 (optional dependency)

        dirs.append(os.path.dirname(botocore.__file__))
    except ImportError:
        pass
    dirs += sorted(glob.glob("/root/.pyenv/versions/*/lib/python*/site-packages/botocore"))
    dirs.append("/usr/lib/python3/dist-packages/botocore")
    found, seen = [], set()
    for d in dirs:
        path = model_file_in(d)
        if path is None or os.path.realpath(path) in seen:
            continue
        seen.add(os.path.realpath(path))
        version = botocore_version(d)
        found.append((version_key(version), path, f"botocore {version} ({path})"))
    found.sort(key=lambda c: c[0], reverse=True)  # stable: ties keep discovery order
    return [(path, desc) for _, path, desc in found]


def load_model(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


# --- the projection of the model the tables use ----------------------------------------------


def project(model):
    """Returns (uid, operations {name: input shape}, shapes {name: projected shape})."""
    shapes = model["shapes"]
    operations = {}
    for name, op in model["operations"].items():
        if "input" not in op:
            raise ModelError(f"operation {name} has no input shape")
        operations[name] = op["input"]["shape"]

    projected = {}

    def visit(name, depth, stack):
        if name in stack:
            raise ModelError(f"recursive shape {name}: validation.cpp does not support cycles")
        if depth > MAX_DEPTH:
            raise ModelError(f"shape {name} nests deeper than {MAX_DEPTH}")
        src = shapes[name]
        kind = src["type"]
        if kind not in KINDS:
            raise ModelError(f"shape {name}: type {kind} is not supported by validation.cpp")
        p = {"type": kind}
        for key in ("min", "max"):
            if key in src:
                p[key] = int(src[key])
        for key in ("enum", "pattern"):
            if key in src:
                p[key] = src[key]
        if src.get("sensitive"):
            p["sensitive"] = True
        if "pattern" in p and not p["pattern"].isascii():
            raise ModelError(f"shape {name}: non-ASCII pattern")
        if name in ENUM_ORDER_OVERRIDES:
            if sorted(ENUM_ORDER_OVERRIDES[name]) != sorted(p.get("enum", [])):
                raise ModelError(f"ENUM_ORDER_OVERRIDES[{name}] is not a permutation of the model's enum")
        if "enum" in p and kind != "string":
            raise ModelError(f"shape {name}: enum on a {kind}")
        if "pattern" in p and kind != "string":
            raise ModelError(f"shape {name}: pattern on a {kind}")
        if kind == "structure":
            p["members"] = [[m, spec["shape"]] for m, spec in src["members"].items()]
            p["required"] = list(src.get("required", []))
            for req in p["required"]:
                if req not in src["members"]:
                    raise ModelError(f"shape {name}: required member {req} does not exist")
            children = [spec["shape"] for spec in src["members"].values()]
        elif kind == "list":
            p["member"] = src["member"]["shape"]
            if shapes[p["member"]]["type"] not in SCALARS + ("structure",):
                raise ModelError(f"list {name}: only scalar or structure members are supported")
            children = [p["member"]]
        elif kind == "map":
            p["key"] = src["key"]["shape"]
            p["value"] = src["value"]["shape"]
            key_shape, value_shape = shapes[p["key"]], shapes[p["value"]]
            if key_shape["type"] != "string" or value_shape["type"] != "string":
                raise ModelError(f"map {name}: only string -> string maps are supported")
            if any(k in key_shape for k in ("min", "max", "enum", "pattern")):
                raise ModelError(f"map {name}: constraints on map keys are not supported")
            children = [p["key"], p["value"]]
        else:
            children = []
        if name not in projected:
            projected[name] = p
        for child in children:
            visit(child, depth + 1, stack | {name})

    for name in operations.values():
        visit(name, 0, frozenset())
    return model["metadata"]["uid"], operations, projected


def model_sha256(uid, operations, shapes):
    canonical = json.dumps(
        {"uid": uid, "operations": operations, "shapes": shapes},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


# --- C++ emission ----------------------------------------------------------------------------


def cpp_string(s):
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            raise ModelError(f"unexpected character {ch!r} in {s!r}")
    return '"' + "".join(out) + '"'


def lower_camel(name):
    return name[:1].lower() + name[1:]


def render(model):
    uid, operations, shapes = project(model)
    sha = model_sha256(uid, operations, shapes)
    names = sorted(shapes)
    index = {n: i for i, n in enumerate(names)}
    if len(names) >= 0xFFFF:
        raise ModelError("too many shapes for a 16-bit index")

    enum_rows, pattern_rows, member_rows, shape_rows = [], [], [], []
    enum_total = 0
    pattern_index = {}
    for n in names:
        s = shapes[n]
        enum_first, enum_count = 0, 0
        if "enum" in s:
            values = ENUM_ORDER_OVERRIDES.get(n, s["enum"])
            enum_first, enum_count = enum_total, len(values)
            enum_total += enum_count
            order = "AWS order, see ENUM_ORDER_OVERRIDES" if n in ENUM_ORDER_OVERRIDES else "model order"
            enum_rows.append(f"    // {n} ({order})")
            enum_rows += [f"    {cpp_string(v)}," for v in values]
        pattern = "kNoPattern"
        if "pattern" in s:
            if s["pattern"] not in pattern_index:
                pattern_index[s["pattern"]] = len(pattern_index)
                pattern_rows.append(f"    {cpp_string(s['pattern'])},")
            pattern = str(pattern_index[s["pattern"]])
        member_first, member_count = 0, 0
        if s["type"] == "structure":
            member_first, member_count = len(member_rows), len(s["members"])
            for m, shape in s["members"]:
                required = "true" if m in s["required"] else "false"
                member_rows.append(
                    f"    {{{cpp_string(m)}, {cpp_string(lower_camel(m))}, "
                    f"{index[shape]}, {required}}},  // {n}.{m}: {shape}"
                )
        element = index[s["member"]] if s["type"] == "list" else None
        element = index[s["value"]] if s["type"] == "map" else element
        key = index[s["key"]] if s["type"] == "map" else None
        fields = [
            cpp_string(n),
            KINDS[s["type"]],
            "true" if s.get("sensitive") else "false",
            "true" if "min" in s else "false",
            "true" if "max" in s else "false",
            str(s.get("min", 0)),
            str(s.get("max", 0)),
            str(enum_first),
            str(enum_count),
            pattern,
            str(member_first),
            str(member_count),
            "kNoShape" if element is None else str(element),
            "kNoShape" if key is None else str(key),
        ]
        shape_rows.append(f"    /* {index[n]} */ {{{', '.join(fields)}}},")
    if enum_total >= 0xFFFF or len(member_rows) >= 0xFFFF:
        raise ModelError("table too large for a 16-bit index")

    op_names = sorted(operations)
    op_rows = [f"    {{{cpp_string(o)}, {index[operations[o]]}}},  // {operations[o]}" for o in op_names]
    name_rows = [f"    {cpp_string(o)}," for o in op_names]

    body = "\n".join(
        [
            '#include "server/protocol/model_table.hpp"',
            "",
            "// clang-format off",
            "namespace kms::server::model {",
            "namespace {",
            "",
            "using enum ShapeKind;",
            "",
            "constexpr Operation kOperationTable[] = {",
            *op_rows,
            "};",
            "",
            "constexpr std::string_view kOperationNameTable[] = {",
            *name_rows,
            "};",
            "",
            "// {name, kind, sensitive, has_min, has_max, min, max, enum_first, enum_count, pattern,",
            "//  member_first, member_count, element, key}",
            "constexpr Shape kShapeTable[] = {",
            *shape_rows,
            "};",
            "",
            "// {name, camel_name, shape, required}",
            "constexpr Member kMemberTable[] = {",
            *member_rows,
            "};",
            "",
            "constexpr std::string_view kEnumValueTable[] = {",
            *enum_rows,
            "};",
            "",
            "constexpr std::string_view kPatternTable[] = {",
            *pattern_rows,
            "};",
            "",
            "}  // namespace",
            "",
            "constinit const Tables kTables = {",
            f"    {cpp_string(uid)},",
            f'    "{sha}",',
            "    kOperationTable,",
            "    kOperationNameTable,",
            "    kShapeTable,",
            "    kMemberTable,",
            "    kEnumValueTable,",
            "    kPatternTable,",
            "};",
            "",
            "}  // namespace kms::server::model",
            "// clang-format on",
            "",
        ]
    )
    content_sha = hashlib.sha256(body.encode("ascii")).hexdigest()
    header = "\n".join(
        [
            "// GENERATED by tools/gen_model_table.py from botocore's KMS service model. DO NOT EDIT.",
            "// Regenerate: python3 tools/gen_model_table.py [--model PATH]",
            f"// model: {uid}, {len(operations)} operations, {len(shapes)} input shapes",
            f"// model-sha256: {sha}",
            f"// content-sha256: {content_sha}",
            "",
        ]
    )
    ops_txt = "".join(o + "\n" for o in op_names)
    return header + body, ops_txt


# --- main ------------------------------------------------------------------------------------


def read_text(rel):
    try:
        with open(os.path.join(REPO_ROOT, rel), encoding="utf-8", newline="") as f:
            return f.read()
    except OSError:
        return None


def write_text(rel, text):
    path = os.path.join(REPO_ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def header_field(text, field):
    m = re.search(rf"^// {field}: ([0-9a-f]{{64}})$", text or "", re.M)
    return m.group(1) if m else None


def compare(cpp, ops, source):
    stale = [rel for rel, want in ((OUT_CPP, cpp), (OUT_OPS, ops)) if read_text(rel) != want]
    if stale:
        print(f"gen_model_table: STALE vs {source}: {', '.join(stale)}", file=sys.stderr)
        print("gen_model_table: run python3 tools/gen_model_table.py", file=sys.stderr)
        return 1
    print(f"gen_model_table: up to date with {source}")
    return 0


def self_consistent(committed_cpp):
    """Checks the committed files against each other when no matching model is available."""
    body = committed_cpp.split("\n", 5)[5] if committed_cpp.count("\n") >= 5 else ""
    if header_field(committed_cpp, "content-sha256") != hashlib.sha256(body.encode()).hexdigest():
        print(f"gen_model_table: {OUT_CPP} was edited by hand (content-sha256)", file=sys.stderr)
        return False
    block = re.search(r"kOperationNameTable\[\] = \{\n(.*?)\n\};", committed_cpp, re.S)
    names = re.findall(r'"([^"]+)"', block.group(1)) if block else []
    if read_text(OUT_OPS) != "".join(n + "\n" for n in names):
        print(f"gen_model_table: {OUT_OPS} does not match {OUT_CPP}", file=sys.stderr)
        return False
    return True


def check(model_path):
    committed = read_text(OUT_CPP)
    if committed is None:
        print(f"gen_model_table: {OUT_CPP} is missing", file=sys.stderr)
        return 1
    if model_path:
        cpp, ops = render(load_model(model_path))
        return compare(cpp, ops, model_path)
    want = header_field(committed, "model-sha256")
    tried = []
    for path, desc in candidate_models():
        model = load_model(path)
        try:
            sha = model_sha256(*project(model))
        except ModelError as e:  # an older or newer model this generator cannot read
            tried.append(f"{desc}: {e}")
            continue
        if sha == want:
            cpp, ops = render(model)
            return compare(cpp, ops, desc)
        tried.append(f"{desc}: model-sha256 {sha}")
    if not self_consistent(committed):
        return 1
    print(f"gen_model_table: skipped: no botocore KMS model with model-sha256 {want} found")
    for t in tried:
        print(f"  tried {t}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", help="path to service-2.json or service-2.json.gz")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    args = parser.parse_args()
    try:
        if args.check:
            return check(args.model)
        path = args.model
        if path is None:
            candidates = candidate_models()
            if not candidates:
                print("gen_model_table: no botocore KMS model found; pass --model", file=sys.stderr)
                return 2
            path, desc = candidates[0]
        else:
            desc = path
        cpp, ops = render(load_model(path))
        write_text(OUT_CPP, cpp)
        write_text(OUT_OPS, ops)
        print(f"gen_model_table: wrote {OUT_CPP} and {OUT_OPS} from {desc}")
        return 0
    except ModelError as e:
        print(f"gen_model_table: unsupported model: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
