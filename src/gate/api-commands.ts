import { shellQuote } from './evaluate-check.js';

/**
 * The public API of every library package of a Go module, for the `go-doc` parser: `go doc -all`
 * per package that `go list` finds, leaving out `main` packages (nothing imports them) and
 * `internal` ones (only the module itself can). A failing `go list` or `go doc` fails the command,
 * and an empty output (no library package) is unreadable, so it never passes as "no exports".
 */
export const GO_DOC_COMMAND =
  `pkgs=$(go list -f '{{if and .GoFiles (ne .Name "main")}}{{.ImportPath}}{{end}}' ./...) || exit 1; ` +
  'for p in $pkgs; do case "/$p/" in */internal/*) continue ;; esac; go doc -all "$p" || exit 1; done';

/**
 * Prints the public top-level names of Python modules as JSON for the `python-api` parser. It reads
 * the source with `ast` and never imports it, so no project code runs and no dependency is needed.
 * Public means: the names in a static `__all__` when the module has one; otherwise every function,
 * class and variable not starting with `_`, and imports only in the explicit re-export form
 * `from m import x as x` (the convention of PEP 484 stubs and type checkers). Classes bring their
 * public methods and annotated attributes as `Class.member`; re-exports take the kind and signature
 * of what they re-export. Test files, folders such as `tests`, and private modules (`_name`) are
 * skipped. The arguments are package folders or source roots (default: the current folder); module
 * names are dotted from the root's parent when the root is itself a package. Needs Python 3.9+
 * (`ast.unparse`).
 */
const PYTHON_API_SCRIPT = `import ast, json, os, sys

SKIP = {"tests", "test", "testing", "docs", "build", "dist", "venv", "site-packages", "node_modules"}
BLOCKS = (ast.If, ast.Try) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def modules(root):
    top = os.path.abspath(root)
    base = os.path.dirname(top) if os.path.isfile(os.path.join(root, "__init__.py")) else top
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith((".", "_")))
        for file in sorted(files):
            if not file.endswith(".py") or file.startswith("test_") or file.endswith("_test.py") or file in ("conftest.py", "setup.py"):
                continue
            parts = os.path.relpath(os.path.join(folder, file), base)[:-3].split(os.sep)
            init = parts[-1] == "__init__"
            if init:
                parts.pop()
            if parts and not any(p.startswith("_") for p in parts):
                yield ".".join(parts), os.path.join(folder, file), init


def flat(body):
    for node in body:
        if isinstance(node, BLOCKS):
            yield from flat(node.body)
            for handler in getattr(node, "handlers", []):
                yield from flat(handler.body)
            yield from flat(node.orelse)
            yield from flat(getattr(node, "finalbody", []))
        else:
            yield node


def signature(node):
    if isinstance(node, ast.ClassDef):
        bases = ", ".join(ast.unparse(b) for b in node.bases + node.keywords)
        return "class " + node.name + ("(" + bases + ")" if bases else "")
    returns = " -> " + ast.unparse(node.returns) if node.returns else ""
    return ("async def " if isinstance(node, ast.AsyncFunctionDef) else "def ") + node.name + "(" + ast.unparse(node.args) + ")" + returns


def members(node):
    out = []
    for item in node.body:
        if isinstance(item, FUNCTIONS) and not item.name.startswith("_"):
            out.append((item.name, "method", signature(item)))
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and not item.target.id.startswith("_"):
            out.append((item.target.id, "attribute", item.target.id + ": " + ast.unparse(item.annotation)))
    return out


def define(names, name, binding):
    if name not in names or (names[name]["kind"] == "import" and binding["kind"] != "import"):
        names[name] = binding


def read(module, tree, init):
    package = module if init else module.rpartition(".")[0]
    names, listed = {}, None
    for node in flat(tree.body):
        if isinstance(node, FUNCTIONS + (ast.ClassDef,)):
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            define(names, node.name, {"kind": kind, "signature": signature(node), "members": members(node) if kind == "class" else []})
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
                try:
                    value = [str(v) for v in ast.literal_eval(node.value)]
                except (ValueError, TypeError, SyntaxError):
                    continue
                listed = listed + value if isinstance(node, ast.AugAssign) and listed is not None else value
                continue
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        hint = ": " + ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign) else ""
                        define(names, name.id, {"kind": "variable", "signature": name.id + hint, "members": []})
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                up = package.split(".")[: max(0, len(package.split(".")) - node.level + 1)]
                source = ".".join([p for p in up if p] + ([source] if source else []))
            for alias in node.names:
                if alias.name != "*":
                    define(names, alias.asname or alias.name, {"kind": "import", "source": source, "name": alias.name, "public": alias.asname == alias.name})
        elif isinstance(node, ast.Import):
            for alias in node.names:
                define(names, alias.asname or alias.name.split(".")[0], {"kind": "import", "source": alias.name, "name": None, "public": alias.asname == alias.name})
    if listed is None:
        listed = [n for n, b in names.items() if not n.startswith("_") and (b["kind"] != "import" or b["public"])]
    return names, listed


def resolve(module, name, seen):
    binding = api.get(module, ({}, []))[0].get(name)
    if binding is None:
        return {"kind": "module", "signature": "module " + module + "." + name, "members": []} if module + "." + name in api else None
    if binding["kind"] != "import":
        return binding
    if binding["name"] is None:
        return {"kind": "module", "signature": "import " + binding["source"], "members": []}
    if binding["source"] + "." + binding["name"] in api:
        return {"kind": "module", "signature": "module " + binding["source"] + "." + binding["name"], "members": []}
    found = None if (module, name) in seen else resolve(binding["source"], binding["name"], seen | {(module, name)})
    return found or {"kind": "import", "signature": "from " + binding["source"] + " import " + binding["name"], "members": []}


api = {}
for root in sys.argv[1:] or ["."]:
    for module, path, init in modules(root):
        with open(path, encoding="utf-8") as source:
            text = source.read()
        try:
            api[module] = read(module, ast.parse(text, path), init)
        except SyntaxError as error:
            sys.exit(path + ":" + str(error.lineno) + ": SyntaxError: " + str(error.msg))

out = []
for module, (names, listed) in sorted(api.items()):
    for name in dict.fromkeys(listed):
        found = resolve(module, name, set()) or {"kind": "name", "signature": name, "members": []}
        out.append({"module": module, "name": name, "kind": found["kind"], "signature": found["signature"]})
        out.extend({"module": module, "name": name + "." + m, "kind": k, "signature": s} for m, k, s in found["members"])
json.dump(out, sys.stdout, indent=1)
print()
`;

/** The command of a Python API check: `python` runs the script over `roots`. */
export function pythonApiCommand(python: string, roots: readonly string[] = []): string {
  return [python, '-c', shellQuote(PYTHON_API_SCRIPT), ...roots.map(shellQuote)].join(' ');
}
