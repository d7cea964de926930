// TCC is a macOS concept: every known permission is "not-applicable" on Linux.
#include "../platform.h"

#include <errno.h>
#include <string.h>

static const char* const kPermissions[] = {
    "notifications", "screenRecording", "microphone", "camera", "speechRecognition", "appleScript", "accessibility",
};

static int answer(const char* permission, oc_tcc_result_t* out) {
  for (const char* name : kPermissions) {
    if (strcmp(name, permission) == 0) {
      out->status = OC_TCC_NOT_APPLICABLE;
      out->os_status = 0;
      strncpy(out->reason, "unsupported-platform", sizeof(out->reason) - 1);
      return 0;
    }
  }
  return EINVAL;
}

int oc_tcc_status(const char* permission, const char*, int32_t, oc_tcc_result_t* out) { return answer(permission, out); }

int oc_tcc_request(const char* permission, const char*, int32_t, oc_tcc_result_t* out) { return answer(permission, out); }
