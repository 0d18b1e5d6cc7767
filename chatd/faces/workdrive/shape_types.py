"""The type of every answer of the WorkDrive face: what ``shapes.py`` builds and the views return.

As for the Crust face (``edge/shape_types.py``): TypedDicts, free at run time, held to their shapes
by mypy, described in ``/openapi.json`` by pydantic, and closed, so the document cannot fall behind a shape.
Fields chatd has no source for are typed as what chatd sends (``null``), not as what the spec imagines.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, with_config
from typing_extensions import NotRequired, TypedDict

from ...edge.shape_types import Reaction as Reaction  # the core's {emoji, count, me}, shaped alike on both faces
from ...edge.wire import IdStr, TimeStr

closed = with_config(ConfigDict(extra="forbid"))


@closed
class Meta(TypedDict):
    """The spec's pagination; ``nextPage`` is null on the last page."""

    perPage: int
    totalPages: int
    totalResults: int
    curPage: int
    nextPage: int | None


@closed
class FileRef(TypedDict):
    id: IdStr


@closed
class Media(TypedDict):
    id: IdStr
    mime: str
    name: str
    size: int
    url: str
    thumbnail: str | None
    width: int | None
    height: int | None
    isImage: bool
    isVideo: bool
    isDoc: bool


@closed
class User(TypedDict):
    id: IdStr
    createdAt: TimeStr
    updatedAt: TimeStr
    createdBy: IdStr | None
    updatedBy: IdStr | None
    orgId: IdStr | None
    organizationIds: list[IdStr]
    userName: str
    email: str | None  # null where the caller may not see it (docs/workdrive.md, "Who sees whom")
    status: str
    firstName: str
    lastName: str
    displayName: str
    isServerAdmin: bool
    picture: FileRef | None
    cover: FileRef | None
    availability: str
    online: bool
    department: str | None
    location: str | None
    bio: str | None
    phone: str | None
    designation: str | None
    reportsTo: IdStr | None
    isDepartmentHead: bool
    isExpert: bool
    skill: list[str]
    defaultVisibility: str | None
    securityGroup: str | None
    externalUserId: str | None
    userAdditionalTeams: list[str]
    addAdditionalLocations: list[str]


@closed
class Person(TypedDict):
    """The spec's short user (senders, participants, creators): a subset of the user."""

    id: IdStr
    userName: str
    firstName: str
    lastName: str
    displayName: str
    picture: FileRef | None
    cover: FileRef | None
    online: bool | None  # null, like the rest past the name, for someone the caller may not see
    availability: str | None
    designation: str | None
    department: str | None
    phone: str | None
    email: str | None
    status: str


@closed
class UsersPage(TypedDict):
    users: list[User]
    meta: Meta


@closed
class RemovedUsers(TypedDict):
    users: list[User]


@closed
class Organization(TypedDict):
    id: IdStr
    createdAt: TimeStr
    updatedAt: TimeStr
    createdBy: IdStr | None
    status: Literal["ACTIVE", "ARCHIVED"]
    name: str
    subdomain: None
    parentOrgId: None
    legalName: str | None
    websites: list[str] | None
    address: dict[str, Any] | None
    email: str | None
    phone: str | None
    description: str | None
    industry: str | None
    file: Media | FileRef | None
    authMethod: str


@closed
class NewOrganization(Organization):
    """The access token of its admin is shown once, here."""

    admin: User
    accessToken: str


@closed
class AccessToken(TypedDict):
    userId: IdStr
    token: str


@closed
class SignedRequest(TypedDict):
    url: str
    fields: dict[str, str]


@closed
class UploadTicket(TypedDict):
    fileId: IdStr
    signedRequest: SignedRequest
    url: str


@closed
class Uploaded(TypedDict):
    fileId: IdStr
    url: str
    contentType: str
    size: int


@closed
class GroupChat(TypedDict):
    """``participants`` and ``admins`` where the call asks for members (or changes them)."""

    id: IdStr
    groupId: IdStr
    createdAt: TimeStr
    updatedAt: TimeStr
    createdBy: IdStr | None
    organizationId: IdStr
    title: str
    description: str
    image: FileRef | None
    isChannel: bool
    isPrivate: bool
    byRequest: bool
    type: str
    category: str | None
    archived: bool
    lastMessageAt: TimeStr | None
    memberCount: int
    isMember: bool
    isAdmin: bool
    unreadCount: int | None
    participants: NotRequired[list[Person]]
    admins: NotRequired[list[IdStr]]


@closed
class GroupChatsPage(TypedDict):
    conversations: list[GroupChat]
    meta: Meta


@closed
class Deleted(TypedDict):
    deleted: list[IdStr]


@closed
class JoinRequest(TypedDict):
    id: IdStr
    conversationId: IdStr
    userId: IdStr
    user: Person | None
    status: str
    createdAt: TimeStr
    decidedBy: IdStr | None
    decidedAt: TimeStr | None


@closed
class JoinRequestsPage(TypedDict):
    joinRequests: list[JoinRequest]
    meta: Meta


@closed
class MeetingEvent(TypedDict):
    """The ``event`` of a meeting's announcement message."""

    id: IdStr | None
    title: str | None
    startDateTime: TimeStr | None
    endDateTime: TimeStr | None
    duration: int | None
    poster: FileRef | None
    userIds: list[IdStr]
    conversationId: IdStr


@closed
class MessageFiles(TypedDict):
    files: list[Media]


@closed
class Message(TypedDict):
    id: IdStr
    conversationId: IdStr
    createdAt: TimeStr
    updatedAt: TimeStr
    createdBy: IdStr | None
    message: str
    isEdited: bool
    editedAt: TimeStr | None
    replyOfMsgId: IdStr | None
    sender: Person | None
    files: MessageFiles
    mention: list[Person]
    reactions: list[Reaction]
    type: str
    repliesCount: int
    isPinned: bool
    canEdit: bool
    canRemove: bool
    event: NotRequired[MeetingEvent]


@closed
class MessagesPage(TypedDict):
    messages: list[Message]
    meta: Meta


@closed
class RemovedMessage(TypedDict):
    id: IdStr
    conversationId: IdStr
    removed: bool


@closed
class Invitee(Person):
    """A participant of a meeting; chatd keeps no RSVPs, so ``rsvp`` is null."""

    invited: TimeStr
    rsvp: None


@closed
class Meeting(TypedDict):
    id: IdStr
    createdAt: TimeStr
    updatedAt: TimeStr
    createdBy: IdStr | None
    title: str
    startDateTime: TimeStr
    endDateTime: TimeStr
    duration: int | None
    poster: FileRef | None
    conversationId: IdStr
    messageId: IdStr | None
    creator: Person | None
    rsvpUsers: list[Invitee]


@closed
class NewMeeting(Meeting):
    """The meeting and its announcement, as posted."""

    message: Message
