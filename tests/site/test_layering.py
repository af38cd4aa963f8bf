"""The layers stay layers: no import circles, recs/ free of the web, blueprints apart, nothing imports app.

Read from the source with `ast`, so a rule broken in a module no test imports still fails here.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINT_PACKAGES = ("public", "studio", "api", "widget", "feeds")
WEB_OR_DATABASE = ("flask", "sqlalchemy", "flask_sqlalchemy", "flask_wtf", "wtforms", "afterimage", "app")


def module_name(path: Path) -> str:
    """afterimage/public/routes.py -> afterimage.public.routes; a package's __init__.py is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the application: app.py, the afterimage package and the recs package."""
    paths = [ROOT / "app.py", *sorted((ROOT / "afterimage").rglob("*.py")), *sorted((ROOT / "recs").rglob("*.py"))]
    return {module_name(path): path for path in paths}


MODULES = project_modules()


def is_type_checking_block(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` bodies never run."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def import_nodes(tree: ast.AST, module_level: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a module; with module_level, only those that run when it is imported."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            elif module_level and (isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                                   or is_type_checking_block(child)):
                continue
            else:
                visit(child)

    visit(tree)
    return found


def imported_names(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted modules a statement imports: `from a.b import c` is a.b.c when that is a module, else a.b."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    names = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
    return names if len(names) == len(node.names) else [base, *names]


def imports_of(module: str, module_level: bool = False) -> set[str]:
    """Every module that `module` names in an import statement."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return {name for node in import_nodes(tree, module_level) for name in imported_names(module, node)}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def blueprint_of(module: str) -> str | None:
    """The audience package a module belongs to (public, studio, ...), or None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "afterimage" and parts[1] in BLUEPRINT_PACKAGES else None


def import_graph() -> dict[str, list[str]]:
    """Each module's project imports that run when it is imported."""
    return {module: sorted(imports_of(module, module_level=True) & MODULES.keys()) for module in MODULES}


def cycles_in(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected groups of a graph, each a circle of imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1 or module in graph[module]:
                cycles.append(sorted(group))

    for module in graph:
        if module not in index:
            connect(module)
    return cycles


def test_the_walk_sees_the_whole_application():
    assert {"app", "afterimage.catalog.rules", "recs.model", "afterimage.studio.items"} <= MODULES.keys()
    assert "recs.neighbors" in imports_of("recs.model", module_level=True)
    assert {blueprint_of(m) for m in MODULES} >= set(BLUEPRINT_PACKAGES)


def test_no_module_imports_another_that_imports_it_back():
    assert cycles_in(import_graph()) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if within(m, "recs")))
def test_recs_takes_plain_data_and_imports_neither_the_web_nor_the_database(module):
    forbidden = sorted(name for name in imports_of(module) if any(within(name, top) for top in WEB_OR_DATABASE))
    assert forbidden == [], f"{module} imports {forbidden}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if blueprint_of(m)))
def test_a_blueprint_package_never_imports_another_audiences_package(module):
    own = blueprint_of(module)
    others = sorted(
        name for name in imports_of(module)
        if any(within(name, f"afterimage.{other}") for other in BLUEPRINT_PACKAGES if other != own)
    )
    assert others == [], f"{module} imports {others}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "app"))
def test_nothing_imports_the_application_factory_module(module):
    assert "app" not in imports_of(module), f"{module} imports app.py"


def test_the_package_keeps_at_most_ten_modules_of_its_own_and_the_rest_in_named_packages():
    flat = sorted(p.stem for p in (ROOT / "afterimage").glob("*.py") if p.name != "__init__.py")
    assert len(flat) <= 10, flat


def test_a_circle_is_found_however_long():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": ["e"]}
    assert sorted(cycles_in(graph)) == [["a", "b", "c"], ["e"]]


def test_imports_inside_functions_do_not_run_at_import_time():
    tree = ast.parse("from . import sibling\nimport app\ndef later():\n    import flask\n")
    module_level = [ast.unparse(node) for node in import_nodes(tree, module_level=True)]
    assert module_level == ["from . import sibling", "import app"]
    assert len(import_nodes(tree, module_level=False)) == 3
