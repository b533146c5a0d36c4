"""``sunlight bundle create|install``: the air-gap bundle (docs/bundle.md).

``create`` writes one archive with the node image, the wheelhouse, the source tree, the
Debian packages the roles install (a flat apt repository) and a manifest of versions and
SHA-256 checksums; it is cached by the hash of its inputs. ``install`` verifies one on a
control node with no network and sets it up from it alone.

Example::

    $ sunlight bundle create --out /media/usb/sunlight-bundle.tar.gz
    $ sunlight bundle install /media/usb/sunlight-bundle.tar.gz --dest /srv/sunlight
"""

from __future__ import annotations

from pathlib import Path

import typer

from sunlight.cli.common import (
    JSON_OPTION,
    PANEL_OPERATIONS,
    ExitCode,
    console,
    docker_client,
    fail,
    print_json,
    progress,
    progress_printer,
)

bundle_app = typer.Typer(help="The air-gap bundle: create it here, install it with no network.",
                         no_args_is_help=True)


@bundle_app.command("create")
def bundle_create(
    out: Path | None = typer.Option(None, "--out", help="Also copy the archive to this file."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the cache has it."),
    no_image: bool = typer.Option(
        False, "--no-image", help="Leave the node image out: for sites of machines Sunlight "
        "did not create (`up --hosts`), which need the wheels and packages only."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the bundle (node image, wheels, source, apt repository, manifest), or reuse the
    cached one with the same inputs; print its key, size and SHA-256.

    The Debian packages come from SUNLIGHT_APT_MIRROR (default http://deb.debian.org/debian).
    --json: {"path", "key", "size_bytes", "sha256", "built": bool, "seconds"}; progress goes
    to stderr.
    """
    from sunlight.control.bundle.create import create_bundle
    from sunlight.control.bundle.manifest import BundleError
    from sunlight.control.images.mirror import MirrorError

    try:
        result = create_bundle(progress_printer(as_json), out=out, force=force,
                               connect=docker_client, image=not no_image)
    except MirrorError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    except BundleError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json({"path": str(result.path), "key": result.key,
                    "size_bytes": result.size_bytes, "sha256": result.sha256,
                    "built": result.built, "seconds": round(result.seconds, 1)})
        return
    verb = "built" if result.built else "cached"
    console.print(f"[bold green]{result.path}[/bold green] {verb}; key {result.key[:16]}; "
                  f"size {result.size_bytes / 2**20:.0f} MiB; {result.seconds:.0f} s")
    console.print(f"SHA-256 {result.sha256}  (compare it where the bundle is installed)")


@bundle_app.command("install")
def bundle_install(
    archive: Path = typer.Argument(..., help="The bundle archive (sunlight bundle create)."),
    dest: Path | None = typer.Option(
        None, "--dest", help="New or empty directory to install into "
        "(default: $XDG_STATE_HOME/sunlight/bundle)."),
    no_image: bool = typer.Option(False, "--no-image", help="Do not `docker load` the image."),
    no_venv: bool = typer.Option(False, "--no-venv",
                                 help="Do not create the virtual environment."),
) -> None:
    """Verify the bundle's checksums (a tampered bundle is refused, naming the file), docker
    load the node image, pip install --no-index into a fresh venv, check the collections and
    write sunlight.env (SUNLIGHT_ROOT, SUNLIGHT_APT_BUNDLE, PATH)."""
    from sunlight.control.bundle.install import install_bundle
    from sunlight.control.bundle.manifest import BundleError, BundleTampered
    from sunlight.paths import state_dir

    target = dest or state_dir() / "bundle"
    client = None if no_image else docker_client()
    try:
        result = install_bundle(archive, target, progress, load_image=not no_image,
                                make_venv=not no_venv, client=client)
    except BundleTampered as exc:
        raise fail(f"refused: {exc}", ExitCode.USAGE) from exc
    except BundleError as exc:
        raise fail(str(exc)) from exc
    console.print(f"[bold green]Installed[/] bundle {result.manifest.key[:16]} into "
                  f"{result.dest} in {result.seconds:.0f} s")
    console.print(f"Use it:  . {result.env_file}")


def register(root: typer.Typer) -> None:
    root.add_typer(bundle_app, name="bundle", rich_help_panel=PANEL_OPERATIONS)
