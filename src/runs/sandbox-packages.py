# Asks the sandbox's interpreter which machine-learning packages it has, without importing any of them.
# sandbox-packages.ts prepends one line, CANDIDATES = [[display name, module, [distribution names]], ...],
# and runs this through the executor like any script. It prints one line:
#   AIDE_SANDBOX_PACKAGES {"python": "3.11.2", "packages": [{"name": "numpy", "version": "1.24.2"}, ...]}
# A package counts as present when its top-level module can be found (importlib.util.find_spec reads the
# import path; it does not run the module). Its version comes from the installed distribution's metadata;
# null when no metadata names it (e.g. a module a system package installed without any).
import importlib.metadata
import importlib.util
import json
import platform


def distribution_version(module, names):
    for name in names:
        try:
            return importlib.metadata.version(name)
        except Exception:
            pass
    try:
        owners = importlib.metadata.packages_distributions().get(module, [])
    except Exception:
        owners = []
    for name in owners:
        try:
            return importlib.metadata.version(name)
        except Exception:
            pass
    return None


def present(module):
    try:
        return importlib.util.find_spec(module) is not None
    except Exception:
        return False


found = []
for display, module, names in CANDIDATES:  # noqa: F821 (prepended by the caller)
    if present(module):
        found.append({"name": display, "version": distribution_version(module, names)})

print("AIDE_SANDBOX_PACKAGES " + json.dumps({"python": platform.python_version(), "packages": found}), flush=True)
