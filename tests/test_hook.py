"""The import hook: metatrain.experimental.flashmd resolves to this plugin."""

import os
import subprocess
import sys
import textwrap


def run_python(code: str, **env: str) -> str:
    environment = {**os.environ, **env}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return result.stdout.strip()


def test_alias_is_the_same_module_object():
    out = run_python(
        """
        import metatrain.experimental.flashmd.modules.encoder as alias
        import metatrain_flashmd.modules.encoder as real
        import metatrain.experimental.flashmd as package
        import metatrain_flashmd
        print(alias is real, package is metatrain_flashmd, real.__spec__.name)
        """
    )
    assert out == "True True metatrain_flashmd.modules.encoder"


def test_hook_is_lazy():
    out = run_python(
        """
        import sys
        heavy = [m for m in ("torch", "metatrain", "metatrain_flashmd")
                 if m in sys.modules]
        print(heavy, any(getattr(f, "is_metatrain_flashmd_finder", False)
                         for f in sys.meta_path))
        """
    )
    assert out == "[] True"


def test_environment_variable_restores_builtin():
    out = run_python(
        """
        import metatrain.experimental.flashmd as package
        print(package.__name__)
        """,
        METATRAIN_FLASHMD_DISABLE="1",
    )
    assert out == "metatrain.experimental.flashmd"


def test_architecture_lookup_finds_plugin():
    out = run_python(
        """
        from metatrain.utils.architectures import import_architecture
        arch = import_architecture("experimental.flashmd")
        print(arch.__model__.__module__, arch.__trainer__.__module__)
        """
    )
    assert out == "metatrain_flashmd.model metatrain_flashmd.trainer"
