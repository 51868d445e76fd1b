/*  keyfile — reading and writing CurveZMQ key pair files.  The formats
 *  are in keyfile.h.
 *
 *  Secrets are kept in fixed buffers in the caller's structures and are
 *  never copied into error messages: a message names the file and the
 *  line, never its content.
 */
#include "keyfile.h"
#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

bool keyfile_z85_ok(const char *s)
{
    uint8_t raw[32];
    return s && strlen(s) == KEYFILE_Z85_LEN && zmq_z85_decode(raw, s) != NULL;
}

void keyfile_fingerprint(const char *z85, char out[KEYFILE_FINGERPRINT_LEN + 1])
{
    snprintf(out, KEYFILE_FINGERPRINT_LEN + 1, "%s", z85 ? z85 : "");
}

int keyfile_generate(keyfile_pair_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (zmq_curve_keypair(out->public_z85, out->secret_z85) != 0)
        return errbuf_set(err, errlen, "cannot make a key pair: %s (libzmq without CURVE?)",
                      zmq_strerror(errno));
    return 0;
}

/* Writes TEXT into the new file PATH with MODE, fsync'd. */
static int s_write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errbuf_set(err, errlen, "%s: %s%s", path, strerror(errno),
                      errno == EEXIST ? " (remove it first: a key is never overwritten)" : "");
    /* The umask may have made it stricter; never looser than MODE. */
    size_t len = strlen(text);
    if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return errbuf_set(err, errlen, "%s: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        unlink(path);
        return errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
    }
    return 0;
}

int keyfile_write(const char *path, const keyfile_pair_t *pair, char *err, size_t errlen)
{
    char pub_path[4096], text[512];
    if (snprintf(pub_path, sizeof pub_path, "%s.pub", path) >= (int)sizeof pub_path)
        return errbuf_set(err, errlen, "%s: path too long", path);
    snprintf(text, sizeof text,
             "# relais key pair (relais-keygen).  SECRET: keep this file to yourself;\n"
             "# give only %s.pub (the public key) to the programme team.\n"
             "public-key %s\nsecret-key %s\n",
             path, pair->public_z85, pair->secret_z85);
    int rc = s_write_new(path, 0600, text, err, errlen);
    memset(text, 0, sizeof text);
    if (rc != 0)
        return -1;
    snprintf(text, sizeof text, "%s\n", pair->public_z85);
    if (s_write_new(pub_path, 0644, text, err, errlen) != 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

/* Reads PATH line by line: the value after "public-key" / "secret-key",
 * or a bare key (taken as BARE_IS).  Missing ones are left "". */
static int s_read_keys(const char *path, char pub[KEYFILE_Z85_LEN + 1],
                       char sec[KEYFILE_Z85_LEN + 1], bool bare_is_secret, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
    char line[256];
    int lineno = 0, rc = 0;
    pub[0] = sec[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *word = line + strspn(line, " \t");
        word[strcspn(word, "\r\n")] = '\0';
        if (*word == '\0' || *word == '#')
            continue;
        char *value = word;
        char *into = bare_is_secret ? sec : pub;
        if (strncmp(word, "public-key", 10) == 0 && (word[10] == ' ' || word[10] == '\t')) {
            into = pub;
            value = word + 10;
        } else if (strncmp(word, "secret-key", 10) == 0 && (word[10] == ' ' || word[10] == '\t')) {
            into = sec;
            value = word + 10;
        }
        value += strspn(value, " \t");
        value[strcspn(value, " \t")] = '\0';
        if (!keyfile_z85_ok(value)) {
            rc = errbuf_set(err, errlen, "%s:%d: not a key (40 Z85 characters expected)", path,
                        lineno);
            break;
        }
        memcpy(into, value, KEYFILE_Z85_LEN + 1);
    }
    memset(line, 0, sizeof line);
    fclose(f);
    return rc;
}

int keyfile_read_secret(const char *path, keyfile_pair_t *out, char *err, size_t errlen)
{
    struct stat st;
    memset(out, 0, sizeof *out);
    if (stat(path, &st) != 0)
        return errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
    if (st.st_mode & 077)
        return errbuf_set(err, errlen,
                      "%s: a secret key readable by others is refused (mode %04o): "
                      "chmod 600 %s",
                      path, (unsigned)(st.st_mode & 07777), path);
    char listed[KEYFILE_Z85_LEN + 1];
    if (s_read_keys(path, listed, out->secret_z85, true, err, errlen) != 0)
        return -1;
    if (!*out->secret_z85)
        return errbuf_set(err, errlen, "%s: no secret-key line", path);
    if (zmq_curve_public(out->public_z85, out->secret_z85) != 0) {
        memset(out, 0, sizeof *out);
        return errbuf_set(err, errlen, "%s: cannot derive the public key: %s", path,
                      zmq_strerror(errno));
    }
    if (*listed && strcmp(listed, out->public_z85) != 0) {
        memset(out, 0, sizeof *out);
        return errbuf_set(err, errlen, "%s: its public-key line does not match its secret key",
                      path);
    }
    return 0;
}

int keyfile_read_public(const char *arg, char out[KEYFILE_Z85_LEN + 1], char *err,
                        size_t errlen)
{
    out[0] = '\0';
    if (keyfile_z85_ok(arg)) {
        memcpy(out, arg, KEYFILE_Z85_LEN + 1);
        return 0;
    }
    char secret[KEYFILE_Z85_LEN + 1];
    int rc = s_read_keys(arg, out, secret, false, err, errlen);
    memset(secret, 0, sizeof secret);
    if (rc != 0)
        return -1;
    if (!*out)
        return errbuf_set(err, errlen, "%s: no public key in it", arg);
    return 0;
}
