"""Every table chatd stores, in one place: the single source of truth for the schema.

Conventions: ids are app-generated 64-bit snowflakes (``BigInteger``); times are integer milliseconds since
the Unix epoch (UTC), identical on SQLite and PostgreSQL and cheap to compare; JSON is stored as text.
Soft-deleted rows carry ``removed_at``/``deleted_at``. Dialect-specific search DDL lives in ``search_ddl.py``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

ID = BigInteger
MS = BigInteger
REPLIES = "reply_to IS NOT NULL"  # the rows ``ix_messages_thread`` holds
REMOVED = "deleted_at IS NOT NULL"  # the rows ``ix_messages_removed`` holds
OTHER_KINDS = "type <> 'MESSAGE'"  # the rows ``ix_messages_kinds`` holds


def _id(name: str = "id") -> Column[int]:
    return Column(name, ID, primary_key=True, autoincrement=False)


def _rowid() -> Column[int]:
    """An id that is SQLite's rowid too (declared ``INTEGER``, which SQLite takes as the rowid's name; still
    64 bits): the table is kept in id order and needs no index of its ids, one B-tree fewer per insert.
    ``BIGINT`` on PostgreSQL, as every id (schema version 13)."""
    return Column("id", ID().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False)


def _fk(name: str, target: str, nullable: bool = False, cascade: bool = True) -> Column[int]:
    return Column(
        name, ID, ForeignKey(target, ondelete="CASCADE" if cascade else "SET NULL"), nullable=nullable
    )


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", MS, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("username", String(64), nullable=False),
    Column("username_key", String(64), nullable=False, unique=True),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False, server_default=""),
    Column("first_name", String(64), nullable=False, server_default=""),
    Column("last_name", String(64), nullable=False, server_default=""),
    Column("password_hash", Text),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("picture_file_id", ID),
    Column("availability", String(32), nullable=False, server_default="available"),
    Column("department", String(128), nullable=False, server_default=""),
    Column("location", String(128), nullable=False, server_default=""),
    Column("profile", Text, nullable=False, server_default="{}"),
    Column("created_at", MS, nullable=False),
    Column("updated_at", MS, nullable=False),
    Column("last_seen_at", MS),
)

sessions = Table(
    "sessions",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    _fk("user_id", "users.id"),
    Column("client_id", String(128), nullable=False, server_default=""),
    Column("user_agent", String(256), nullable=False, server_default=""),
    Column("created_at", MS, nullable=False),
    Column("last_seen_at", MS, nullable=False),
    Column("expires_at", MS, nullable=False),
    Index("ix_sessions_user", "user_id"),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    _fk("user_id", "users.id"),
    Column("label", String(128), nullable=False, server_default=""),
    Column("created_at", MS, nullable=False),
    Column("last_used_at", MS),
    Column("revoked_at", MS),
    Index("ix_access_tokens_user", "user_id"),
)

organisations = Table(
    "organisations",
    metadata,
    _id(),
    Column("name", String(128), nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", MS, nullable=False),
    Column("updated_at", MS, nullable=False),
    Column("archived_at", MS),
    Column("removed_at", MS),
    # Schema version 2: what an organisation tells about itself (legal name, websites, address…), and its logo.
    Column("profile", Text, nullable=False, server_default="{}"),
    Column("picture_file_id", ID),
)

org_members = Table(
    "org_members",
    metadata,
    _fk("organisation_id", "organisations.id"),
    _fk("user_id", "users.id"),
    Column("role", String(16), nullable=False),
    Column("joined_at", MS, nullable=False),
    PrimaryKeyConstraint("organisation_id", "user_id", name="pk_org_members"),
    Index("ix_org_members_user", "user_id"),
)

teams = Table(
    "teams",
    metadata,
    _id(),
    _fk("organisation_id", "organisations.id"),
    Column("name", String(128), nullable=False),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", MS, nullable=False),
    Column("updated_at", MS, nullable=False),
    Column("archived_at", MS),
    Column("removed_at", MS),
    Index("ix_teams_org", "organisation_id"),
)

team_members = Table(
    "team_members",
    metadata,
    _fk("team_id", "teams.id"),
    _fk("user_id", "users.id"),
    Column("joined_at", MS, nullable=False),
    PrimaryKeyConstraint("team_id", "user_id", name="pk_team_members"),
    Index("ix_team_members_user", "user_id"),
)

files = Table(
    "files",
    metadata,
    _id(),
    _fk("owner_id", "users.id"),
    Column("name", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("storage_key", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, server_default=""),
    Column("width", Integer),
    Column("height", Integer),
    Column("thumbnail_key", String(255)),
    Column("status", String(16), nullable=False, server_default="ready"),
    Column("module", String(64), nullable=False, server_default=""),
    Column("created_at", MS, nullable=False),
    Column("deleted_at", MS),
)

channels = Table(
    "channels",
    metadata,
    _id(),
    _fk("organisation_id", "organisations.id"),
    Column("team_id", ID, ForeignKey("teams.id", ondelete="SET NULL")),
    Column("name", String(128), nullable=False, server_default=""),
    Column("topic", String(1024), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    Column("type", String(16), nullable=False),
    Column("direct_key", String(64), unique=True),
    Column("group_type", String(16), nullable=False, server_default="CHAT_GROUP"),
    Column("category", String(128), nullable=False, server_default=""),
    Column("by_request", Boolean, nullable=False, server_default=text("false")),
    Column("picture_file_id", ID, ForeignKey("files.id", ondelete="SET NULL")),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", MS, nullable=False),
    Column("updated_at", MS, nullable=False),
    Column("archived_at", MS),
    Column("removed_at", MS),
    Column("merged_into", ID),
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("last_message_at", MS),
    # How many rows of ``channel_members`` it has: kept by ``channel_members.add`` and ``remove`` in the same
    # transaction, so reading it costs the same for ten members as for ten thousand (schema 8).
    Column("member_count", Integer, nullable=False, server_default="0"),
    Index("ix_channels_org", "organisation_id"),
    Index("ix_channels_team", "team_id"),
)

channel_members = Table(
    "channel_members",
    metadata,
    _fk("channel_id", "channels.id"),
    _fk("user_id", "users.id"),
    Column("role", String(16), nullable=False, server_default="member"),
    Column("joined_at", MS, nullable=False),
    Column("last_read_message_id", ID, nullable=False, server_default="0"),
    PrimaryKeyConstraint("channel_id", "user_id", name="pk_channel_members"),
    Index("ix_channel_members_user", "user_id"),
)

# The per-channel event log (docs/design.md §4.2): each change takes the channel's next seq in the same
# transaction as the change, so resume can replay exactly what a client missed.
channel_events = Table(
    "channel_events",
    metadata,
    _fk("channel_id", "channels.id"),
    Column("seq", BigInteger, nullable=False),
    # Not unique (schema version 13): ids are snowflakes, and nothing finds an event by its id, so an index
    # of them only cost every event one more B-tree insert.
    Column("id", ID, nullable=False),
    Column("type", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("actor_id", ID),
    Column("payload", Text, nullable=False),
    Column("created_at", MS, nullable=False),
    Column("message_id", ID),  # the message a message event is about: a removal redacts its events
    PrimaryKeyConstraint("channel_id", "seq", name="pk_channel_events"),
    Index("ix_channel_events_message", "message_id"),
)

messages = Table(
    "messages",
    metadata,
    _rowid(),
    _fk("channel_id", "channels.id"),
    Column("user_id", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("type", String(16), nullable=False),
    Column("contents", Text, nullable=False, server_default=""),
    Column("meta", Text, nullable=False, server_default="{}"),
    Column("reply_to", ID),
    Column("reply_count", Integer, nullable=False, server_default="0"),
    Column("last_reply_at", MS),
    Column("client_msg_id", String(128)),
    Column("created_at", MS, nullable=False),
    Column("updated_at", MS, nullable=False),
    Column("edited_at", MS),
    Column("deleted_at", MS),
    Column("deleted_by", ID),
    Index("ix_messages_channel_id", "channel_id", "id"),
    # Removed messages only (schema version 10): a page found by its position steps over them in the index
    # above instead of reading every row it skips (``messages.page_by_offset``). A post adds no entry.
    Index("ix_messages_removed", "channel_id", "id", sqlite_where=text(REMOVED), postgresql_where=text(REMOVED)),
    # Messages of every other kind than a plain message (files, topics, meetings…), schema version 11: a search
    # for one kind finds them here rather than by walking every message (``search.kinds_count``). A plain
    # message (nearly every post) adds no entry.
    Index("ix_messages_kinds", "channel_id", "type", "id", sqlite_where=text(OTHER_KINDS),
          postgresql_where=text(OTHER_KINDS)),
    # Replies only: a thread is listed by its root (``reply_to = ?``), and most messages are no reply, so
    # a post that is none adds no entry (schema version 7).
    Index("ix_messages_thread", "reply_to", "id", sqlite_where=text(REPLIES), postgresql_where=text(REPLIES)),
    # Also the index for lookups by author alone (the search's author filter, ``ON DELETE SET NULL`` from
    # users): user_id leads it, so a separate index on user_id would only cost every post a B-tree insert.
    UniqueConstraint("user_id", "client_msg_id", name="uq_messages_client_msg_id"),
)

message_versions = Table(
    "message_versions",
    metadata,
    _fk("message_id", "messages.id"),
    Column("version", Integer, nullable=False),
    Column("contents", Text, nullable=False),
    Column("created_at", MS, nullable=False),
    PrimaryKeyConstraint("message_id", "version", name="pk_message_versions"),
)

message_files = Table(
    "message_files",
    metadata,
    _fk("message_id", "messages.id"),
    _fk("file_id", "files.id"),
    Column("position", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("message_id", "file_id", name="pk_message_files"),
    Index("ix_message_files_file", "file_id"),
)

mentions = Table(
    "mentions",
    metadata,
    _fk("message_id", "messages.id"),
    _fk("user_id", "users.id"),
    _fk("channel_id", "channels.id"),
    PrimaryKeyConstraint("message_id", "user_id", name="pk_mentions"),
    Index("ix_mentions_user_channel", "user_id", "channel_id", "message_id"),
)

reactions = Table(
    "reactions",
    metadata,
    _fk("message_id", "messages.id"),
    _fk("user_id", "users.id"),
    Column("emoji", String(64), nullable=False),
    Column("created_at", MS, nullable=False),
    PrimaryKeyConstraint("message_id", "user_id", "emoji", name="pk_reactions"),
)

pins = Table(
    "pins",
    metadata,
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    _fk("channel_id", "channels.id"),
    Column("pinned_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("pinned_at", MS, nullable=False),
    Index("ix_pins_channel", "channel_id"),
)

flags = Table(
    "flags",
    metadata,
    _fk("user_id", "users.id"),
    _fk("message_id", "messages.id"),
    Column("created_at", MS, nullable=False),
    PrimaryKeyConstraint("user_id", "message_id", name="pk_flags"),
)

join_requests = Table(
    "join_requests",
    metadata,
    _id(),
    _fk("channel_id", "channels.id"),
    _fk("user_id", "users.id"),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("created_at", MS, nullable=False),
    Column("decided_by", ID),
    Column("decided_at", MS),
    Index("ix_join_requests_channel", "channel_id", "status"),
)

meetings = Table(
    "meetings",
    metadata,
    _id(),
    _fk("channel_id", "channels.id"),
    Column("title", String(255), nullable=False),
    Column("poster_id", ID, ForeignKey("files.id", ondelete="SET NULL")),
    Column("start_at", MS, nullable=False),
    Column("end_at", MS, nullable=False),
    Column("duration", Integer),
    Column("message_id", ID),
    Column("created_by", ID, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", MS, nullable=False),
)

# Schema version 3: which node holds which snowflake node id (PostgreSQL deployments, docs/design.md §5).
node_leases = Table(
    "node_leases",
    metadata,
    Column("node_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(64), nullable=False),
    Column("expires_at", MS, nullable=False),
)

meeting_participants = Table(
    "meeting_participants",
    metadata,
    _fk("meeting_id", "meetings.id"),
    _fk("user_id", "users.id"),
    PrimaryKeyConstraint("meeting_id", "user_id", name="pk_meeting_participants"),
)

# Schema version 4: secrets the server makes for itself (the signing secret when ``server.secret_key`` is
# empty), kept where every node of a deployment finds the same one (chatd/core/secrets.py).
server_secrets = Table(
    "server_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", MS, nullable=False),
)
