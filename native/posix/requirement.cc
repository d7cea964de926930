// Builds the code-signing requirement string for a TeamID allowlist. Portable so it can be unit-tested
// on Linux; only macOS passes the result to SecRequirementCreateWithString.
#include "../platform.h"

#include <errno.h>
#include <string.h>

namespace {

bool ValidTeam(const char* t) {
  if (t == nullptr || strlen(t) != 10) return false;
  for (const char* p = t; *p; p++) {
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) return false;
  }
  return true;
}

bool ValidIdentifier(const char* s) {
  size_t n = strlen(s);
  if (n == 0 || n > 255) return false;
  for (const char* p = s; *p; p++) {
    char c = *p;
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Appends s; false when it does not fit (keeps room for the NUL).
bool Append(char* buf, size_t cap, size_t* len, const char* s) {
  size_t n = strlen(s);
  if (*len + n + 1 > cap) return false;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
  return true;
}

}  // namespace

int oc_team_requirement(const char* const* team_ids, size_t team_count, const char* signing_id, char* buf,
                        size_t buf_cap) {
  if (team_ids == nullptr || team_count == 0 || buf == nullptr || buf_cap == 0) return EINVAL;
  for (size_t i = 0; i < team_count; i++) {
    if (!ValidTeam(team_ids[i])) return EINVAL;
  }
  if (signing_id != nullptr && !ValidIdentifier(signing_id)) return EINVAL;
  buf[0] = '\0';
  size_t len = 0;
  bool ok = true;
  if (signing_id != nullptr) {
    ok = Append(buf, buf_cap, &len, "identifier \"") && Append(buf, buf_cap, &len, signing_id) &&
         Append(buf, buf_cap, &len, "\" and ");
  }
  ok = ok && Append(buf, buf_cap, &len, "anchor apple generic and ");
  if (team_count > 1) ok = ok && Append(buf, buf_cap, &len, "(");
  for (size_t i = 0; ok && i < team_count; i++) {
    if (i > 0) ok = Append(buf, buf_cap, &len, " or ");
    ok = ok && Append(buf, buf_cap, &len, "certificate leaf[subject.OU] = \"") &&
         Append(buf, buf_cap, &len, team_ids[i]) && Append(buf, buf_cap, &len, "\"");
  }
  if (team_count > 1) ok = ok && Append(buf, buf_cap, &len, ")");
  if (!ok) {
    buf[0] = '\0';
    return ERANGE;
  }
  return 0;
}
