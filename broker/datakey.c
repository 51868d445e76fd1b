/*  datakey — reads or creates data.key and derives its subkeys.
 *  See datakey.h. */
#include "datakey.h"

#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_CONTEXT "relaisdk" /* crypto_kdf_CONTEXTBYTES = 8 */
#define S_SUB_SEAL 1
#define S_SUB_INDEX 2

static unsigned char s_index[DATAKEY_LEN];

static int s_fail(char *err, size_t errlen, const char *path)
{
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

/* Reads PATH's 32 bytes into KEY, or creates the file. */
static int s_read_or_create(const char *path, bool create, unsigned char key[DATAKEY_LEN],
                            char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return s_fail(err, errlen, path);
        randombytes_buf(key, DATAKEY_LEN);
        if (write(fd, key, DATAKEY_LEN) != DATAKEY_LEN || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            unlink(path);
            errno = e;
            return s_fail(err, errlen, path);
        }
        close(fd);
        return 0;
    }
    if (fd < 0)
        return s_fail(err, errlen, path);
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s must be readable by its owner only (mode 0600)", path);
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, key, DATAKEY_LEN);
    close(fd);
    if (n != DATAKEY_LEN) {
        snprintf(err, errlen, "%s: expected %d bytes", path, DATAKEY_LEN);
        return -1;
    }
    return 0;
}

static const char *s_path_override = NULL;

void datakey_set_path(const char *path)
{
    s_path_override = path && *path ? path : NULL;
}

int datakey_init(const char *data_dir, bool create, char *err, size_t errlen)
{
    char path[4096];
    unsigned char master[DATAKEY_LEN], sub[DATAKEY_LEN];
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot initialise");
        return -1;
    }
    int n = s_path_override ? snprintf(path, sizeof path, "%s", s_path_override)
                            : snprintf(path, sizeof path, "%s/%s", data_dir, DATAKEY_FILE);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "data directory path too long");
        return -1;
    }
    if (s_read_or_create(path, create, master, err, errlen) != 0)
        return -1;
    crypto_kdf_derive_from_key(sub, sizeof sub, S_SUB_SEAL, S_CONTEXT, master);
    seal_set_key(sub);
    crypto_kdf_derive_from_key(s_index, sizeof s_index, S_SUB_INDEX, S_CONTEXT, master);
    sodium_memzero(master, sizeof master);
    sodium_memzero(sub, sizeof sub);
    return 0;
}

void datakey_index_key(unsigned char out[DATAKEY_LEN])
{
    memcpy(out, s_index, DATAKEY_LEN);
}

void datakey_shutdown(void)
{
    sodium_memzero(s_index, sizeof s_index);
    seal_forget();
}
