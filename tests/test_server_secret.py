"""The server secret: without ``server.secret_key`` the first node makes one and every node shares it."""

from __future__ import annotations

from pathlib import Path

from harness import Harness, make_settings


async def test_nodes_without_a_configured_secret_accept_each_others_upload_policies(
    database_url: str, tmp_path: Path
) -> None:
    """Two nodes with their own data directories and one store: a policy issued by one is good on the other."""
    first = make_settings(database_url, tmp_path, server={"secret_key": "", "data_dir": str(tmp_path / "a")})
    second = make_settings(database_url, tmp_path, server={"secret_key": "", "data_dir": str(tmp_path / "b")})
    async with Harness.running(first) as node_a, Harness.running(second) as node_b:
        alice = await node_a.user("alice")
        issued = await alice.get("/api/media", mime="text/plain", name="a.txt")
        signed = issued["signedRequest"]
        response = await node_b.anonymous(
            "POST", signed["url"], data=signed["fields"], files={"file": ("a.txt", b"hello", "text/plain")}
        )
        assert response.status_code == 200, response.text
        assert node_a.core.secret == node_b.core.secret != ""


async def test_a_configured_secret_wins_and_a_different_one_refuses_the_signature(
    database_url: str, tmp_path: Path
) -> None:
    configured = make_settings(database_url, tmp_path, server={"secret_key": "one"})
    other = make_settings(database_url, tmp_path, server={"secret_key": "two"})
    async with Harness.running(configured) as node_a, Harness.running(other) as node_b:
        assert node_a.core.secret == "one"
        alice = await node_a.user("alice")
        signed = (await alice.get("/api/media", mime="text/plain", name="a.txt"))["signedRequest"]
        upload = node_b.anonymous(
            "POST", signed["url"], data=signed["fields"], files={"file": ("a.txt", b"hello", "text/plain")}
        )
        await node_b.refused(upload, 403, "bad_signature")
