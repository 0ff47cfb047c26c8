"""Import hook that makes ``metatrain.experimental.flashmd`` resolve to this plugin.

metatrain finds architectures only as modules ``metatrain.<name>`` and ships its own
``metatrain/experimental/flashmd``. A ``.pth`` file installed beside this module runs
``import _metatrain_flashmd_hook`` at every interpreter start-up, which puts
:class:`AliasFinder` first on :data:`sys.meta_path`. From then on, importing
``metatrain.experimental.flashmd`` or any ``metatrain.experimental.flashmd.X`` returns
the very module object ``metatrain_flashmd`` (or ``metatrain_flashmd.X``): each module
is loaded once and is reachable under both names.

The hook is lazy: at start-up it only appends a finder; ``metatrain_flashmd`` is
imported the first time the alias is. Set the environment variable
``METATRAIN_FLASHMD_DISABLE=1`` (also ``true``/``yes``/``on``) to leave metatrain's
built-in FlashMD in place.

This file uses the standard library only: it is copied to the root of site-packages
as ``_metatrain_flashmd_hook.py`` when the package is installed.
"""

# Only os and sys at start-up: this module is imported by every Python process of the
# environment; importlib's helpers are imported when the alias is first used.
import os
import sys


ALIAS = "metatrain.experimental.flashmd"
"""Module name under which metatrain imports the architecture."""

TARGET = "metatrain_flashmd"
"""Name of the package that implements it."""

DISABLE_VARIABLE = "METATRAIN_FLASHMD_DISABLE"
"""Environment variable that switches the hook off when set to a true value."""

_TRUE_VALUES = {"1", "true", "yes", "on"}


def is_disabled() -> bool:
    """Whether the user asked for metatrain's built-in FlashMD instead of this one."""
    return os.environ.get(DISABLE_VARIABLE, "").strip().lower() in _TRUE_VALUES


def target_name(alias_name: str) -> "str | None":
    """Name of the plugin module behind ``alias_name``, or None if it is no alias."""
    if alias_name == ALIAS:
        return TARGET
    if alias_name.startswith(ALIAS + "."):
        return TARGET + alias_name[len(ALIAS) :]
    return None


class _AliasLoader:
    """Loader that hands out an already imported plugin module under the alias."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._target_spec = None

    def create_module(self, spec):  # noqa: ANN001, ANN201
        import importlib

        module = importlib.import_module(self.target)
        self._target_spec = module.__spec__
        return module

    def exec_module(self, module) -> None:  # noqa: ANN001
        # the import system has just set ``module.__spec__`` to the alias spec; the
        # module keeps its own spec so that it still knows its real name
        module.__spec__ = self._target_spec


class AliasFinder:
    """Meta path finder mapping ``metatrain.experimental.flashmd*`` to the plugin."""

    is_metatrain_flashmd_finder = True

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: ANN001, ANN201
        """Spec aliasing ``fullname`` to the plugin module, or None if unrelated."""
        name = target_name(fullname)
        if name is None:
            return None
        import importlib.machinery
        import importlib.util

        if name in sys.modules:
            real_spec = sys.modules[name].__spec__
        else:
            real_spec = importlib.util.find_spec(name)
        if real_spec is None:
            return None
        is_package = real_spec.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(name), is_package=is_package
        )


def install() -> None:
    """Put the finder first on :data:`sys.meta_path`, unless disabled or present."""
    if is_disabled():
        return
    # compared by marker, not class: this file may be imported under two names
    if any(
        getattr(finder, "is_metatrain_flashmd_finder", False)
        for finder in sys.meta_path
    ):
        return
    sys.meta_path.insert(0, AliasFinder())


install()
