/*  auth and keyfile: the authorized-keys file (format, every error with
 *  its line, lookup, reload) and key pair files (write, read, refusals).
 */
#include "auth.h"
#include "config.h"
#include "keyfile.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[64];
static config_t *s_cfg;

static void s_setup(void)
{
    char err[256];
    snprintf(s_dir, sizeof s_dir, "/tmp/relais-auth-XXXXXX");
    cr_assert(mkdtemp(s_dir));
    s_cfg = config_load_default(err, sizeof err);
    cr_assert(s_cfg, "%s", err);
}

static void s_teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", s_dir);
    config_free(&s_cfg);
}

TestSuite(auth, .init = s_setup, .fini = s_teardown);

static const char *s_write(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void s_key(char *pub)
{
    keyfile_pair_t p;
    char err[256];
    cr_assert_eq(keyfile_generate(&p, err, sizeof err), 0, "%s", err);
    memcpy(pub, p.public_z85, 41);
}

Test(auth, reads_roles_comments_and_blank_lines)
{
    char k1[41], k2[41], k3[41], k4[41], text[1024], err[256];
    s_key(k1), s_key(k2), s_key(k3), s_key(k4);
    snprintf(text, sizeof text,
             "# who may connect\n\n  partner mission-locale %s\n"
             "coordinator asq-planoise %s Alice, intake\ncoordinator asq-planoise %s\r\n"
             "staff ccas-team %s\n",
             k1, k2, k3, k4);
    auth_t *a = auth_load(s_write("keys", text), s_cfg, err, sizeof err);
    cr_assert(a, "%s", err);
    cr_assert_eq(auth_count(a), 4);
    const auth_entry_t *e = auth_lookup(a, k1);
    cr_assert(e);
    cr_assert_eq(e->role, AUTH_PARTNER);
    cr_assert_str_eq(e->user_id, "partner:mission-locale");
    cr_assert_str_eq(auth_lookup(a, k3)->user_id, "coordinator:asq-planoise");
    cr_assert_str_eq(auth_lookup(a, k4)->user_id, "staff:ccas-team");
    cr_assert_null(auth_lookup(a, "0000000000000000000000000000000000000000"));
    const char *id;
    cr_assert_eq(auth_parse_user_id("coordinator:asq-planoise", &id), AUTH_COORDINATOR);
    cr_assert_str_eq(id, "asq-planoise");
    cr_assert_eq(auth_parse_user_id("root:x", &id), 0);
    cr_assert_eq(auth_parse_user_id("", &id), 0);
    auth_destroy(&a);
    cr_assert_null(a);
}

static void s_expect_error(const char *text, const char *where_what)
{
    char err[512];
    const char *path = s_write("bad", text);
    auth_t *a = auth_load(path, s_cfg, err, sizeof err);
    cr_assert_null(a, "accepted: %s", text);
    char want[256];
    snprintf(want, sizeof want, "%s:%s", path, where_what);
    cr_assert(strstr(err, want), "error '%s', expected '%s'", err, want);
}

Test(auth, every_error_names_its_line)
{
    char k[41], text[512];
    s_key(k);
    snprintf(text, sizeof text, "# x\nadmin ccas %s\n", k);
    s_expect_error(text, "2: unknown role 'admin'");
    snprintf(text, sizeof text, "partner mission-locale\n");
    s_expect_error(text, "1: expected 'partner ID KEY'");
    snprintf(text, sizeof text, "\npartner nobody %s\n", k);
    s_expect_error(text, "2: 'nobody' is not a configured partner");
    snprintf(text, sizeof text, "coordinator mission-locale %s\n", k);
    s_expect_error(text, "1: 'mission-locale' is not a configured structure");
    s_expect_error("partner ccas tooshort\n", "1: bad key");
    snprintf(text, sizeof text, "partner ccas %s\nstaff someone %s\n", k, k);
    s_expect_error(text, "2: this key is already listed on line 1");
    snprintf(text, sizeof text, "staff bad:id %s\n", k);
    s_expect_error(text, "1: bad id");
}

Test(auth, reload_swaps_the_keys_only_when_the_file_is_good)
{
    char k1[41], k2[41], text[512], err[512];
    s_key(k1), s_key(k2);
    snprintf(text, sizeof text, "partner ccas %s\n", k1);
    auth_t *a = auth_load(s_write("keys", text), s_cfg, err, sizeof err);
    cr_assert(a, "%s", err);
    snprintf(text, sizeof text, "partner ccas %s\npartner rectorat %s\nbroken\n", k1, k2);
    s_write("keys", text);
    cr_assert_eq(auth_reload(a, err, sizeof err), -1);
    cr_assert(strstr(err, ":3:"), "%s", err);
    cr_assert_null(auth_lookup(a, k2));
    cr_assert(auth_lookup(a, k1));
    snprintf(text, sizeof text, "partner rectorat %s\n", k2);
    s_write("keys", text);
    cr_assert_eq(auth_reload(a, err, sizeof err), 0, "%s", err);
    cr_assert_null(auth_lookup(a, k1));
    cr_assert_str_eq(auth_lookup(a, k2)->user_id, "partner:rectorat");
    auth_destroy(&a);
}

Test(auth, key_files_round_trip_and_refuse_what_they_should)
{
    char path[128], err[512], pub[41];
    keyfile_pair_t made, read;
    snprintf(path, sizeof path, "%s/me.key", s_dir);
    cr_assert_eq(keyfile_generate(&made, err, sizeof err), 0);
    cr_assert_eq(keyfile_write(path, &made, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(keyfile_read_secret(path, &read, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(read.secret_z85, made.secret_z85);
    cr_assert_str_eq(read.public_z85, made.public_z85);
    /* The public key: from the .pub file, from the key file, as is. */
    char pubpath[160];
    snprintf(pubpath, sizeof pubpath, "%s.pub", path);
    cr_assert_eq(keyfile_read_public(pubpath, pub, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(pub, made.public_z85);
    cr_assert_eq(keyfile_read_public(path, pub, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(pub, made.public_z85);
    cr_assert_eq(keyfile_read_public(made.public_z85, pub, err, sizeof err), 0);
    /* Never overwritten. */
    cr_assert_eq(keyfile_write(path, &made, err, sizeof err), -1);
    cr_assert(strstr(err, "never overwritten"), "%s", err);
    /* Readable by others: refused, and the message does not hold the key. */
    chmod(path, 0640);
    cr_assert_eq(keyfile_read_secret(path, &read, err, sizeof err), -1);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    cr_assert_null(strstr(err, made.secret_z85));
    chmod(path, 0600);
    /* A public-key line that is not the secret's. */
    keyfile_pair_t other;
    keyfile_generate(&other, err, sizeof err);
    char text[256];
    snprintf(text, sizeof text, "public-key %s\nsecret-key %s\n", other.public_z85,
             made.secret_z85);
    const char *mixed = s_write("mixed.key", text);
    chmod(mixed, 0600);
    cr_assert_eq(keyfile_read_secret(mixed, &read, err, sizeof err), -1);
    cr_assert(strstr(err, "does not match"), "%s", err);
    /* Not a key at all. */
    const char *junk = s_write("junk.key", "secret-key hello\n");
    chmod(junk, 0600);
    cr_assert_eq(keyfile_read_secret(junk, &read, err, sizeof err), -1);
    cr_assert(strstr(err, ":1: not a key"), "%s", err);
    cr_assert(keyfile_z85_ok(made.public_z85));
    cr_assert(!keyfile_z85_ok("abc"));
}
