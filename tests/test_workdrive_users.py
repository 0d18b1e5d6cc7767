"""The WorkDrive face, first part: organisations, access tokens and the user directory (docs/workdrive.md)."""

from __future__ import annotations

import pytest

from harness import PASSWORD, Actor, Harness, anonymous, file_of, member, workdrive_org

pytestmark = pytest.mark.slow_on_postgresql  # a face or transport suite: SQLite every day, both in CI


async def _role(actor: Actor, org_id: str) -> str | None:
    response = await actor.call("GET", "/organisation/read", params={"id": org_id})
    return response.json()["role"] if response.status_code == 200 else None


# Organisation ----------------------------------------------------------------------------------------


async def test_server_admin_creates_an_organisation_with_its_admin_and_a_token(chat: Harness) -> None:
    org = await workdrive_org(chat)
    body = org.body
    assert body["name"] == "Stilla" and body["status"] == "ACTIVE" and body["authMethod"] == "internal"
    assert body["createdBy"] == org.root.id and body["accessToken"].startswith("chatd_")
    assert body["admin"]["email"] == "john@stilla.test" and body["admin"]["userName"] == "john"
    assert body["admin"]["orgId"] == org.id and body["admin"]["firstName"] == "John"
    assert await _role(org.admin, org.id) == "owner"
    listed = await org.admin.get("/api/users")
    assert [u["id"] for u in listed["users"]] == [org.admin.id], "the server admin does not join"


async def test_only_server_admins_create_organisations(chat: Harness) -> None:
    alice = await chat.user("alice")
    admin = {"firstName": "A", "lastName": "B", "email": "a@b.test"}
    await alice.post("/api/organization", name="Mine", admin=admin, expect=403, code="forbidden")
    org = await workdrive_org(chat)
    await org.admin.post("/api/organization", name="Another", admin=admin, expect=403, code="forbidden")
    await chat.refused(anonymous(chat, "POST", "/api/organization", json={"name": "X", "admin": admin}), 401, "unauthenticated")
    wrong_key = anonymous(chat, "POST", "/api/organization", headers={"X-API-KEY": "chatd_nope"}, json={})
    await chat.refused(wrong_key, 401, "bad_credentials")


async def test_organisation_creation_rejects_bad_input_by_field(chat: Harness) -> None:
    root = await chat.user("root", admin=True)
    missing = await root.post("/api/organization", expect=400, code="invalid")
    assert missing["error"]["fields"] == {"name": "required", "admin": "required"}
    bad_email = await root.post("/api/organization", name="X", admin={"email": "nope"}, expect=400, code="invalid")
    assert bad_email["error"]["fields"] == {"admin.email": "must be an email address"}
    ldap = await root.post(
        "/api/organization", name="X", admin={"email": "a@b.test"}, auth={"method": "ldap"}, expect=400, code="invalid"
    )
    assert "auth.method" in ldap["error"]["fields"]
    blank = await root.post("/api/organization", name="  ", admin={"email": "a@b.test"}, expect=400, code="invalid")
    assert "name" in blank["error"]["fields"]
    await workdrive_org(chat, root=root)
    taken = await root.post("/api/organization", name="Y", admin={"email": "JOHN@stilla.test"}, expect=409, code="taken")
    assert taken["error"]["fields"] == {"admin.email": "already taken"}


async def test_organisation_admins_rename_it_and_describe_it(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    renamed = await org.admin.patch(f"/api/organization/{org.id}", name=" Stilla Ltd ", industry=None)
    assert renamed["name"] == "Stilla Ltd" and renamed["id"] == org.id
    assert (await org.admin.patch(f"/api/organization/{org.id}"))["name"] == "Stilla Ltd"
    await bob.patch(f"/api/organization/{org.id}", name="Bob's", expect=403, code="forbidden")
    outsider = await chat.user("outsider")
    await outsider.patch(f"/api/organization/{org.id}", name="Mine", expect=404, code="not_found")
    logo = await file_of(chat, org.admin)
    described = await org.admin.patch(
        f"/api/organization/{org.id}", legalName="Stilla AB", websites=["https://stilla.test"], industry="Real estate",
        address={"street1": "Main 1", "city": "Lund"}, email="hi@stilla.test", phone="714-517-5291", fileId=logo,
    )
    assert described["legalName"] == "Stilla AB" and described["websites"] == ["https://stilla.test"]
    assert described["address"] == {"street1": "Main 1", "city": "Lund"} and described["email"] == "hi@stilla.test"
    assert described["file"]["id"] == logo
    kept = await org.admin.patch(f"/api/organization/{org.id}", industry=None)  # null clears; the rest stays
    assert kept["industry"] is None and kept["legalName"] == "Stilla AB" and kept["file"]["id"] == logo
    for bad in ({"email": "nope"}, {"websites": [{"url": 1}]}, {"address": {"planet": "Mars"}}, {"legalName": "x" * 300}):
        refused = await org.admin.patch(f"/api/organization/{org.id}", expect=400, code="invalid", **bad)
        assert set(refused["error"]["fields"]) <= {*bad, *(f"{k}.0" for k in bad)} and refused["error"]["fields"]
    await org.admin.patch("/api/organization/abc", name="X", expect=400, code="invalid")
    await org.admin.patch("/api/organization/424242", name="X", expect=404, code="not_found")
    blank = await org.admin.patch(f"/api/organization/{org.id}", name="", expect=400, code="invalid")
    assert "name" in blank["error"]["fields"]
    await chat.refused(anonymous(chat, "PATCH", f"/api/organization/{org.id}", json={"name": "X"}), 401, "unauthenticated")


# Access tokens ---------------------------------------------------------------------------------------


async def test_org_admin_generates_a_token_that_acts_as_the_user(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    body = await org.admin.post("/api/token/generate-access", userId=bob.id)
    assert body["userId"] == bob.id and body["token"].startswith("chatd_")
    me = await anonymous(chat, "GET", "/user/read", headers={"X-API-KEY": body["token"]})
    assert me.json()["id"] == bob.id
    by_root = await org.root.post("/api/token/generate-access", userId=int(bob.id))
    assert by_root["userId"] == bob.id


async def test_token_generation_needs_authority_over_the_whole_account(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob, carol = await member(chat, org.admin, "bob"), await member(chat, org.admin, "carol")
    await bob.post("/api/token/generate-access", userId=carol.id, expect=403, code="forbidden")
    await bob.post("/api/token/generate-access", userId=bob.id, expect=403, code="forbidden")
    await org.admin.post("/organisation/members/role", id=org.id, user_id=bob.id, role="admin")
    await bob.post("/api/token/generate-access", userId=carol.id)
    # an admin never acts as an owner
    await bob.post("/api/token/generate-access", userId=org.admin.id, expect=403, code="forbidden")
    other = await workdrive_org(chat, "Other", root=org.root)
    await other.admin.post("/organisation/members/add", id=other.id, user_id=carol.id)
    await bob.post("/api/token/generate-access", userId=carol.id, expect=403, code="forbidden")  # carol is also Other's
    await org.admin.post("/organisation/members/add", id=org.id, user_id=org.root.id)
    await org.admin.post("/api/token/generate-access", userId=org.root.id, expect=403, code="forbidden")
    stranger = await chat.user("stranger")
    await org.admin.post("/api/token/generate-access", userId=stranger.id, expect=404, code="not_found")
    await org.admin.post("/api/token/generate-access", userId="424242", expect=404, code="not_found")


async def test_token_generation_rejects_bad_input_and_anonymous_callers(chat: Harness) -> None:
    org = await workdrive_org(chat)
    missing = await org.admin.post("/api/token/generate-access", expect=400, code="invalid")
    assert missing["error"]["fields"] == {"userId": "required"}
    bad = await org.admin.post("/api/token/generate-access", userId="abc", expect=400, code="invalid")
    assert "userId" in bad["error"]["fields"]
    nobody = anonymous(chat, "POST", "/api/token/generate-access", json={"userId": org.admin.id})
    await chat.refused(nobody, 401, "unauthenticated")
    bob = await member(chat, org.admin, "bob")
    await org.admin.patch(f"/api/users/{bob.id}", status="BLOCKED")
    await org.admin.post("/api/token/generate-access", userId=bob.id, expect=409, code="inactive")


# Listing ---------------------------------------------------------------------------------------------


async def test_listing_shows_my_organisations_users_with_the_spec_meta(chat: Harness) -> None:
    org = await workdrive_org(chat)
    for name in ("amy", "ben", "cid"):
        await member(chat, org.admin, name)
    other = await workdrive_org(chat, "Other", root=org.root)
    await member(chat, other.admin, "zed")
    first = await org.admin.get("/api/users", per_page=2)
    assert [u["userName"] for u in first["users"]] == ["amy", "ben"]
    assert first["meta"] == {"perPage": 2, "totalPages": 2, "totalResults": 4, "curPage": 1, "nextPage": 2}
    last = await org.admin.get("/api/users", per_page=2, cur_page=2)
    assert [u["userName"] for u in last["users"]] == ["cid", "john"] and last["meta"]["nextPage"] is None
    default = await org.admin.get("/api/users")
    assert default["meta"]["perPage"] == 10 and default["meta"]["totalResults"] == 4
    everyone = await org.root.get("/api/users", per_page=100)
    assert {"zed", "amy"} <= {u["userName"] for u in everyone["users"]}
    loner = await chat.user("loner")
    assert [u["id"] for u in (await loner.get("/api/users"))["users"]] == [loner.id]


async def test_listing_filters_by_department_and_location(chat: Harness) -> None:
    org = await workdrive_org(chat)
    await member(chat, org.admin, "amy", department="Sales", location="Paris")
    await member(chat, org.admin, "ben", department="Sales", location="Rome")
    await member(chat, org.admin, "cid", department="Dev", location="Paris")
    sales = await org.admin.get("/api/users", department="sales")
    assert [u["userName"] for u in sales["users"]] == ["amy", "ben"]
    both = await org.admin.get("/api/users", department="Sales", location="Paris")
    assert [u["userName"] for u in both["users"]] == ["amy"] and both["users"][0]["location"] == "Paris"


async def test_listing_rejects_bad_paging_and_anonymous_callers(chat: Harness) -> None:
    org = await workdrive_org(chat)
    zero = await org.admin.get("/api/users", cur_page=0, expect=400, code="invalid")
    assert "cur_page" in zero["error"]["fields"]
    word = await org.admin.get("/api/users", per_page="many", expect=400, code="invalid")
    assert "per_page" in word["error"]["fields"]
    await chat.refused(anonymous(chat, "GET", "/api/users"), 401, "unauthenticated")
    await chat.refused(anonymous(chat, "GET", "/api/users", headers={"X-API-KEY": "chatd_wrong"}), 401, "bad_credentials")


# Adding ----------------------------------------------------------------------------------------------


async def test_org_admin_adds_a_user_with_intranet_fields_kept_as_given(chat: Harness) -> None:
    org = await workdrive_org(chat)
    body = await org.admin.post(
        "/api/users/add",
        email="Jane.Doe@example.test",
        firstName="Jane",
        lastName="Doe",
        phone="+1 555",
        designation="Manager",
        isDepartmentHead=True,
        department="Sales",
        location="Paris",
        securityGroup="sg-1",
        skill=["python", "sql"],
        defaultVisibility="public",
        addAdditionalTeams=["t1"],
        reportsTo=org.admin.id,
    )
    assert body["userName"] == "Jane.Doe" and body["email"] == "Jane.Doe@example.test"
    assert body["status"] == "ACTIVE" and body["availability"] == "ACTIVE" and body["online"] is False
    assert body["orgId"] == org.id and body["createdBy"] == org.admin.id and body["displayName"] == "Jane Doe"
    assert (body["designation"], body["isDepartmentHead"], body["skill"]) == ("Manager", True, ["python", "sql"])
    assert (body["department"], body["location"], body["reportsTo"]) == ("Sales", "Paris", org.admin.id)
    assert body["userAdditionalTeams"] == ["t1"] and body["picture"] is None and body["bio"] is None
    again = await org.admin.post("/api/users/add", email="jane.doe@other.test")
    assert again["userName"] == "jane.doe2", "a taken username gets a number"
    assert await _role(await member(chat, org.admin, "kim"), org.id) == "member"


async def test_adding_users_needs_an_org_admin_and_says_which_org(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    await bob.post("/api/users/add", email="x@example.test", expect=403, code="forbidden")
    loner = await chat.user("loner")
    await loner.post("/api/users/add", email="x@example.test", expect=403, code="forbidden")
    other = await workdrive_org(chat, "Other", root=org.root)
    await other.admin.post("/organisation/members/add", id=other.id, user_id=org.admin.id, role="admin")
    which = await org.admin.post("/api/users/add", email="x@example.test", expect=400, code="invalid")
    assert which["error"]["fields"] == {"organizationId": "required: name the organisation the users join"}
    placed = await org.admin.post("/api/users/add", email="x@example.test", organizationId=other.id)
    assert placed["orgId"] == other.id
    await bob.post("/api/users/add", email="y@example.test", organizationId=org.id, expect=403, code="forbidden")
    await loner.post("/api/users/add", email="y@example.test", organizationId=org.id, expect=404, code="not_found")
    await org.root.post("/api/users/add", email="y@example.test", expect=400, code="invalid")
    by_root = await org.root.post("/api/users/add", email="y@example.test", organizationId=org.id)
    assert by_root["orgId"] == org.id
    await chat.refused(anonymous(chat, "POST", "/api/users/add", json={"email": "z@example.test"}), 401, "unauthenticated")


async def test_adding_a_user_rejects_bad_input_by_field(chat: Harness) -> None:
    org = await workdrive_org(chat)
    missing = await org.admin.post("/api/users/add", firstName="No Email", expect=400, code="invalid")
    assert missing["error"]["fields"] == {"email": "required"}
    bad = await org.admin.post("/api/users/add", email="not-an-email", expect=400, code="invalid")
    assert bad["error"]["fields"] == {"email": "must be an email address"}
    long = await org.admin.post("/api/users/add", email="a@example.test", firstName="x" * 65, expect=400, code="invalid")
    assert long["error"]["fields"] == {"firstName": "must be at most 64 characters"}
    visibility = await org.admin.post(
        "/api/users/add", email="a@example.test", defaultVisibility="secret", expect=400, code="invalid"
    )
    assert "defaultVisibility" in visibility["error"]["fields"]
    boss = await org.admin.post("/api/users/add", email="a@example.test", reportsTo="424242", expect=400, code="invalid")
    assert boss["error"]["fields"] == {"reportsTo": "no such user"}
    weak = await org.admin.post("/api/users/add", email="a@example.test", password="short", expect=400, code="invalid")
    assert "password" in weak["error"]["fields"]
    taken = await org.admin.post("/api/users/add", email="JOHN@stilla.test", expect=409, code="taken")
    assert taken["error"]["fields"] == {"email": "already taken"}


async def test_bulk_create_adds_all_or_none(chat: Harness) -> None:
    org = await workdrive_org(chat)
    created = await org.admin.post(
        "/api/users/bulk-create",
        data=[{"email": "a@example.test", "firstName": "A"}, {"email": "b@example.test", "externalUserId": "ext-2"}],
    )
    assert [u["userName"] for u in created] == ["a", "b"] and created[1]["externalUserId"] == "ext-2"
    bad = await org.admin.post(
        "/api/users/bulk-create", data=[{"email": "c@example.test"}, {"email": "nope"}], expect=400, code="invalid"
    )
    assert bad["error"]["fields"] == {"data.1.email": "must be an email address"}
    twice = await org.admin.post(
        "/api/users/bulk-create", data=[{"email": "d@example.test"}, {"email": "D@example.test"}], expect=409, code="taken"
    )
    assert twice["error"]["fields"] == {"data.1.email": "already taken"}
    names = {u["userName"] for u in (await org.admin.get("/api/users"))["users"]}
    assert names == {"john", "a", "b"}, "a failed batch leaves nothing behind"
    empty = await org.admin.post("/api/users/bulk-create", data=[], expect=400, code="invalid")
    assert "data" in empty["error"]["fields"]
    assert (await org.admin.post("/api/users/bulk-create", expect=400, code="invalid"))["error"]["fields"] == {"data": "required"}
    bob = await member(chat, org.admin, "bob")
    await bob.post("/api/users/bulk-create", data=[{"email": "e@example.test"}], expect=403, code="forbidden")
    await chat.refused(anonymous(chat, "POST", "/api/users/bulk-create", json={"data": []}), 401, "unauthenticated")


# Updating --------------------------------------------------------------------------------------------


async def test_org_admin_updates_a_user_and_null_clears_a_field(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob", phone="1", addAdditionalTeams=["t1", "t2"])
    changed = await org.admin.patch(
        f"/api/users/{bob.id}",
        firstName="Robert",
        lastName="Brown",
        designation="Web Developer",
        isExpert=True,
        department="Development",
        availability="AWAY",
        phone=None,
        addAdditionalTeams=["t3"],
        removeAdditionalTeams=["t1"],
    )
    assert (changed["firstName"], changed["lastName"], changed["displayName"]) == ("Robert", "Brown", "Robert Brown")
    assert changed["designation"] == "Web Developer" and changed["isExpert"] is True
    assert changed["department"] == "Development" and changed["availability"] == "AWAY"
    assert changed["phone"] is None and changed["userAdditionalTeams"] == ["t2", "t3"]
    assert changed["updatedBy"] == org.admin.id


async def test_users_edit_their_own_profile_but_not_their_standing(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob, carol = await member(chat, org.admin, "bob"), await member(chat, org.admin, "carol")
    mine = await bob.patch(f"/api/users/{bob.id}", firstName="Bobby", bio="hi", availability="AWAY")
    assert (mine["firstName"], mine["bio"], mine["availability"]) == ("Bobby", "hi", "AWAY")
    await bob.patch(f"/api/users/{bob.id}", department="Board", expect=403, code="forbidden")
    await bob.patch(f"/api/users/{bob.id}", status="ARCHIVE", expect=403, code="forbidden")
    await bob.patch(f"/api/users/{carol.id}", firstName="Caz", expect=403, code="forbidden")
    await org.admin.patch(f"/api/users/{org.admin.id}", status="BLOCKED", expect=403, code="forbidden")
    outsider = await chat.user("outsider")
    await outsider.patch(f"/api/users/{bob.id}", firstName="X", expect=404, code="not_found")
    await org.admin.patch(f"/api/users/{outsider.id}", firstName="X", expect=404, code="not_found")
    await chat.refused(anonymous(chat, "PATCH", f"/api/users/{bob.id}", json={"bio": "x"}), 401, "unauthenticated")


async def test_blocking_a_user_ends_their_sessions_and_active_restores_access(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    token = (await org.admin.post("/api/token/generate-access", userId=bob.id))["token"]
    blocked = await org.admin.patch(f"/api/users/{bob.id}", status="BLOCKED")
    assert blocked["status"] == "BLOCKED"
    await bob.get("/api/users", expect=401, code="bad_credentials")
    await chat.refused(anonymous(chat, "GET", "/api/users", headers={"X-API-KEY": token}), 401, "bad_credentials")
    await org.admin.patch(f"/api/users/{bob.id}", status="ACTIVE")
    assert (await anonymous(chat, "GET", "/api/users", headers={"X-API-KEY": token})).status_code == 200


async def test_update_rejects_bad_input_by_field(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    invited = await org.admin.patch(f"/api/users/{bob.id}", status="INVITED", expect=400, code="invalid")
    assert "status" in invited["error"]["fields"]
    await org.admin.patch(f"/api/users/{bob.id}", availability="BUSY", expect=400, code="invalid")
    await org.admin.patch(f"/api/users/{bob.id}", status=None, expect=400, code="invalid")
    unknown_file = await org.admin.patch(f"/api/users/{bob.id}", fileId="424242", expect=400, code="invalid")
    assert unknown_file["error"]["fields"] == {"fileId": "no such file"}
    boss = await org.admin.patch(f"/api/users/{bob.id}", reportsTo=bob.id, expect=400, code="invalid")
    assert boss["error"]["fields"] == {"reportsTo": "a user cannot report to themselves"}
    await org.admin.patch("/api/users/not-an-id", bio="x", expect=400, code="invalid")
    await org.admin.patch("/api/users/424242", bio="x", expect=404, code="not_found")
    long = await org.admin.patch(f"/api/users/{bob.id}", lastName="y" * 65, expect=400, code="invalid")
    assert long["error"]["fields"] == {"lastName": "must be at most 64 characters"}


async def test_picture_is_an_image_the_user_or_caller_uploaded(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob, carol = await member(chat, org.admin, "bob"), await member(chat, org.admin, "carol")
    picture = await file_of(chat, bob)
    body = await bob.patch(f"/api/users/{bob.id}", fileId=picture, coverFileId=picture)
    assert body["picture"] == {"id": picture} and body["cover"] == {"id": picture}
    cleared = await bob.patch(f"/api/users/{bob.id}", fileId=None)
    assert cleared["picture"] is None
    text = await file_of(chat, bob, "text/plain")
    not_image = await bob.patch(f"/api/users/{bob.id}", fileId=text, expect=400, code="invalid")
    assert not_image["error"]["fields"] == {"fileId": "must be an image"}
    theirs = await file_of(chat, carol)
    await bob.patch(f"/api/users/{bob.id}", fileId=theirs, expect=400, code="invalid")
    admin_upload = await file_of(chat, org.admin)
    assert (await org.admin.patch(f"/api/users/{bob.id}", fileId=admin_upload))["picture"] == {"id": admin_upload}


# Deleting --------------------------------------------------------------------------------------------


async def test_deleting_a_user_removes_them_and_archives_the_account(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob = await member(chat, org.admin, "bob")
    gone = await org.admin.delete(f"/api/users/{bob.id}")
    assert gone["status"] == "ARCHIVE" and gone["orgId"] is None and gone["organizationIds"] == []
    assert bob.id not in {u["id"] for u in (await org.admin.get("/api/users"))["users"]}
    await bob.get("/api/users", expect=401, code="bad_credentials")
    login = anonymous(chat, "POST", "/user/login", json={"username": "bob", "password": PASSWORD})
    await chat.refused(login, 401, "bad_credentials")
    await org.admin.delete(f"/api/users/{bob.id}", expect=404, code="not_found")
    archived = await org.root.get("/api/users", per_page=100)
    assert any(u["id"] == bob.id and u["status"] == "ARCHIVE" for u in archived["users"]), "the account is kept"


async def test_deleting_from_one_organisation_keeps_the_account_active_elsewhere(chat: Harness) -> None:
    org = await workdrive_org(chat)
    other = await workdrive_org(chat, "Other", root=org.root)
    bob = await member(chat, org.admin, "bob")
    await other.admin.post("/organisation/members/add", id=other.id, user_id=bob.id)
    kept = await org.admin.delete(f"/api/users/{bob.id}")
    # Still active, in an organisation that is not the caller's to see (docs/workdrive.md, "Who sees whom").
    assert kept["status"] == "ACTIVE" and kept["organizationIds"] == [] and kept["email"] == "bob@example.test"
    everyone = (await org.root.get("/api/users", per_page=100))["users"]  # a server administrator sees it all
    assert [u["organizationIds"] for u in everyone if u["id"] == bob.id] == [[other.id]]
    assert await _role(bob, org.id) is None and await _role(bob, other.id) == "member"


async def test_deleting_needs_authority(chat: Harness) -> None:
    org = await workdrive_org(chat)
    bob, carol = await member(chat, org.admin, "bob"), await member(chat, org.admin, "carol")
    await bob.delete(f"/api/users/{carol.id}", expect=403, code="forbidden")
    await org.admin.delete(f"/api/users/{org.admin.id}", expect=403, code="forbidden")
    await org.admin.post("/organisation/members/role", id=org.id, user_id=bob.id, role="admin")
    await bob.delete(f"/api/users/{org.admin.id}", expect=403, code="forbidden")
    await org.root.delete(f"/api/users/{org.admin.id}", expect=409, code="last_owner")
    outsider = await chat.user("outsider")
    await outsider.delete(f"/api/users/{carol.id}", expect=404, code="not_found")
    await org.admin.delete("/api/users/424242", expect=404, code="not_found")
    await org.admin.delete("/api/users/zero", expect=400, code="invalid")
    await chat.refused(anonymous(chat, "DELETE", f"/api/users/{carol.id}"), 401, "unauthenticated")


async def test_bulk_delete_removes_all_or_none(chat: Harness) -> None:
    org = await workdrive_org(chat)
    amy, ben, cid = [await member(chat, org.admin, name) for name in ("amy", "ben", "cid")]
    refused = await org.admin.request("DELETE", "/api/users/bulk-delete", 403, "forbidden", json={"id": [amy.id, org.admin.id]})
    assert set(refused["error"]["fields"]) == {"id.1"}
    assert len((await org.admin.get("/api/users"))["users"]) == 4, "nothing was removed"
    done = await org.admin.call("DELETE", "/api/users/bulk-delete", json={"id": [amy.id, ben.id]})
    assert done.status_code == 200
    assert [u["status"] for u in done.json()["users"]] == ["ARCHIVE", "ARCHIVE"]
    assert [u["userName"] for u in (await org.admin.get("/api/users"))["users"]] == ["cid", "john"]
    by_query = await org.admin.call("DELETE", "/api/users/bulk-delete", params={"id": cid.id})
    assert by_query.status_code == 200
    missing = await org.admin.request("DELETE", "/api/users/bulk-delete", 400, "invalid", json={})
    assert missing["error"]["fields"] == {"id": "required"}
    bad = await org.admin.request("DELETE", "/api/users/bulk-delete", 400, "invalid", json={"id": ["x"]})
    assert "id.0" in bad["error"]["fields"]
    await cid.delete("/api/users/bulk-delete", expect=401, code="bad_credentials")
    bob = await member(chat, org.admin, "bob")
    await bob.request("DELETE", "/api/users/bulk-delete", 403, "forbidden", json={"id": [org.admin.id]})
