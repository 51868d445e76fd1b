/*  event_cursor — the partner's last seen event seq, in a small file.
 *  See event_cursor.h for the file's format and guarantees.
 */
#include "event_cursor.h"
#include "dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A seq is at most 20 digits; anything longer is not ours. */
#define S_FILE_MAX 64

/* Partner ids are [a-z0-9-] in the configuration; letters of either case,
 * '.' and '_' are allowed too, but no '/' and no leading '.', so the id
 * names a file inside the state directory and nothing else. */
static int s_id_is_file_name(const char *id)
{
    if (!id || !*id || *id == '.')
        return 0;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int event_cursor_default_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    int n;
    /* The XDG rules say a relative XDG_STATE_HOME is invalid: ignore it. */
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        n = snprintf(out, outlen, "%s/relais", xdg);
    else if (home && *home)
        n = snprintf(out, outlen, "%s/.local/state/relais", home);
    else {
        snprintf(err, errlen, "neither XDG_STATE_HOME nor HOME is set; pass --state FILE");
        return -1;
    }
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "state file path too long; pass --state FILE");
        return -1;
    }
    return 0;
}

int event_cursor_path_in(const char *dir, const char *partner, char *out, size_t outlen, char *err,
                         size_t errlen)
{
    if (!s_id_is_file_name(partner)) {
        snprintf(err, errlen, "partner id '%s' cannot name a state file; pass --state FILE",
                 partner ? partner : "");
        return -1;
    }
    int n = snprintf(out, outlen, "%s/events-%s.seq", dir, partner);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "state file path too long; pass --state FILE");
        return -1;
    }
    return 0;
}

int event_cursor_default_path(const char *partner, char *out, size_t outlen, char *err,
                              size_t errlen)
{
    char dir[PATH_MAX];
    if (!s_id_is_file_name(partner)) /* the id first: its message is the useful one */
        return event_cursor_path_in("", partner, out, outlen, err, errlen);
    if (event_cursor_default_dir(dir, sizeof dir, err, errlen) != 0)
        return -1;
    return event_cursor_path_in(dir, partner, out, outlen, err, errlen);
}

int event_cursor_load(const char *path, uint64_t *seq, char *err, size_t errlen)
{
    char buf[S_FILE_MAX + 1];
    size_t len = 0;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *seq = 0; /* never fetched: start from the beginning */
            return 0;
        }
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while (len < sizeof buf - 1) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    /* One number, then at most the newline we write (and blanks an editor
     * may add). */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long long v = buf[0] >= '0' && buf[0] <= '9' ? strtoull(buf, &end, 10) : 0;
    if (len == 0 || len >= S_FILE_MAX || strlen(buf) != len || !end || *end != '\0' || errno != 0) {
        snprintf(err, errlen,
                 "%s: not an event sequence number (the file is damaged); delete it to start "
                 "again from the first event, or pass --from SEQ",
                 path);
        goto done;
    }
    *seq = (uint64_t)v;
    rc = 0;
done:
    close(fd);
    return rc;
}

/* mkdir -p of PATH's parent directory. */
static int s_make_parents(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0; /* the current directory, or "/" */
    *slash = '\0';
    return dirs_make(dir, err, errlen);
}

/* fsync of PATH's directory, so the rename itself survives a crash. */
static int s_sync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int event_cursor_save(const char *path, uint64_t seq, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    char text[32];
    int fd = -1;
    if (s_make_parents(path, err, errlen) != 0)
        return -1;
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
        return -1;
    }
    int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)seq);
    const char *p = text;
    size_t left = (size_t)len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
            goto err;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "%s: cannot sync: %s", tmp, strerror(errno));
        goto err;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot close: %s", tmp, strerror(errno));
        goto err;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot replace: %s", path, strerror(errno));
        goto err;
    }
    /* Best effort: the value is already in place; a failed directory sync
     * only risks the previous value coming back after a power cut. */
    (void)s_sync_parent(path);
    return 0;
err:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}
