import sqlite3

conn = sqlite3.connect("notes.db")
cur = conn.cursor()


def search(term):
    query = "select * from notes where body like '%{}%'".format(term)
    # ruleid: SKS-EXEC-110
    return cur.execute(query).fetchall()


def by_id(note_id):
    sql = "SELECT * FROM notes"
    sql += " where id = " + note_id
    # ruleid: SKS-EXEC-110
    cur.execute(sql)


def by_owner(owner):
    sql = """
        SELECT id, body FROM notes
        WHERE owner = '%s'
    """ % owner
    # ruleid: SKS-EXEC-110
    cur.execute(sql)


def remove(tag):
    # ruleid: SKS-EXEC-110
    conn.executescript("DELETE FROM notes WHERE tag = '{}';".format(tag))


def by_id_safe(note_id):
    # ok: SKS-EXEC-110
    cur.execute("SELECT * FROM notes WHERE id = ?", (note_id,))


def by_table(table, name):
    sql = f"SELECT * FROM {table} WHERE name = '{name}'"  # SKS-EXEC-202 reports this line
    # ok: SKS-EXEC-110
    cur.execute(sql)


def log_failure(error):
    message = f"update failed: {error}"
    print(message)
    # ok: SKS-EXEC-110
    cur.execute("SELECT count(*) FROM notes")


def migrate():
    for column, kind in [("tags", "TEXT"), ("score", "INTEGER")]:
        # ok: SKS-EXEC-110
        conn.execute(f"alter table notes add column {column} {kind}")


def by_ids(ids):
    placeholders = ",".join("?" * len(ids))
    # ok: SKS-EXEC-110
    cur.execute("select * from notes where id in ({})".format(placeholders), ids)
