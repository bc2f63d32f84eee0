"""`careledger keys`: signing keys and the JWKS for running the services in production mode."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.common.settings import stack_home

keys_app = typer.Typer(no_args_is_help=True, help="Signing keys and the JWKS that trusts them.")


def default_keys_dir() -> Path:
    return stack_home() / "keys"


@keys_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="a service (plan, consent, referral) or an issuer")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where <name>.pem goes (default .local/keys)")
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option(help="the JWKS file to add the public key to (<dir>/jwks.json)")
    ] = None,
    replace: Annotated[bool, typer.Option(help="make a new key in place of <name>.pem")] = False,
) -> None:
    """Make an Ed25519 key pair: `<name>.pem` (private, 0600) and its public key in the JWKS.

    Give a service its key with CARELEDGER_SERVICE_KEY_FILE=<dir>/<service>.pem and every
    service the JWKS with CARELEDGER_JWT_JWKS=<dir>/jwks.json; `careledger token --key
    <dir>/<issuer>.pem` signs callers' tokens with an issuer's key.
    """
    from services.common.auth.keys import TokenConfigError, new_key

    folder = directory or default_keys_dir()
    try:
        signer = new_key(folder, name, jwks or folder / "jwks.json", replace=replace)
    except TokenConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"{folder / (name + '.pem')} (kid {signer.kid}) in {jwks or folder / 'jwks.json'}")
