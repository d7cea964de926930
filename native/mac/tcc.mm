// macOS TCC (privacy permission) status and requests (platform.h §3: oc_tcc_status, oc_tcc_request).
//
// Both entry points are BLOCKING by contract and run on a worker thread: every wait on a completion
// handler is bounded by timeout_ms (dispatch_semaphore_wait), nothing needs the main run loop, and no
// Objective-C exception escapes (each call is wrapped in @try and becomes EIO).
//
// Honesty rules (spec native-platform.md §4):
//   * screenRecording and accessibility only answer yes/no: "never asked" and "refused" look the same,
//     so "no" is reported as unknown with a reason, never invented as denied or not-determined;
//   * notifications need a real app bundle (UNUserNotificationCenter aborts a bare binary): without a
//     bundle identifier the answer is unknown / "no-app-bundle" and the API is never touched;
//   * a prompt without the matching NS*UsageDescription key in the responsible app's Info.plist makes
//     TCC kill the process: inside an app bundle that lacks the key, requests are refused up front.
//     (A bare binary's prompts are attributed to the app that launched it, e.g. Terminal.)
#include <errno.h>
#include <string.h>

#include <atomic>
#include <memory>

#import <Foundation/Foundation.h>
#import <AVFoundation/AVFoundation.h>
#import <Speech/Speech.h>
#import <UserNotifications/UserNotifications.h>
#include <ApplicationServices/ApplicationServices.h>
#include <CoreFoundation/CoreFoundation.h>
#include <CoreGraphics/CoreGraphics.h>
#include <dispatch/dispatch.h>

#include "../platform.h"

namespace {

constexpr int32_t kDefaultTimeoutMs = 10000;     // the AppleEvents probe timeout OpenClaw uses
constexpr OSStatus kAETargetAddressNotPermitted = -1742;  // errAETargetAddressNotPermitted (MacErrors.h)
constexpr const char* kDefaultAutomationTarget = "com.apple.Terminal";

enum class Permission { kNotifications, kScreenRecording, kMicrophone, kCamera, kSpeech, kAppleScript, kAccessibility };

bool ParsePermission(const char* name, Permission* out) {
  static const struct {
    const char* name;
    Permission value;
  } kNames[] = {
      {"notifications", Permission::kNotifications}, {"screenRecording", Permission::kScreenRecording},
      {"microphone", Permission::kMicrophone},       {"camera", Permission::kCamera},
      {"speechRecognition", Permission::kSpeech},    {"appleScript", Permission::kAppleScript},
      {"accessibility", Permission::kAccessibility},
  };
  if (name == nullptr) return false;
  for (const auto& entry : kNames) {
    if (strcmp(name, entry.name) == 0) {
      *out = entry.value;
      return true;
    }
  }
  return false;
}

void Set(oc_tcc_result_t* out, int32_t status, const char* reason = "", OSStatus os_status = 0) {
  out->status = status;
  size_t len = strnlen(reason, sizeof(out->reason) - 1);
  memcpy(out->reason, reason, len);
  out->reason[len] = '\0';
  out->os_status = os_status;
}

dispatch_time_t Deadline(int32_t timeout_ms) {
  int64_t ms = timeout_ms > 0 ? timeout_ms : kDefaultTimeoutMs;
  return dispatch_time(DISPATCH_TIME_NOW, ms * static_cast<int64_t>(NSEC_PER_MSEC));
}

// Result slot shared with a completion handler that may fire after we gave up waiting: the handler owns a
// reference, writes once, then signals; the waiter reads only after a successful (not timed-out) wait.
struct Pending {
  dispatch_semaphore_t done = dispatch_semaphore_create(0);
  long value = 0;
  bool flag = false;
};

// Waits for `pending` until the call's single deadline; true if the handler finished in time.
bool Wait(const std::shared_ptr<Pending>& pending, dispatch_time_t deadline) {
  return dispatch_semaphore_wait(pending->done, deadline) == 0;
}

// A real .app with an identifier. A bundle identifier alone is not enough: a command-line tool with an
// embedded __info_plist has one too, and UNUserNotificationCenter still aborts it (no bundle proxy).
bool InAppBundle() {
  if ([[NSBundle mainBundle] bundleIdentifier] == nil) return false;
  CFBundleRef main = CFBundleGetMainBundle();
  if (main == nullptr) return false;
  CFURLRef url = CFBundleCopyBundleURL(main);
  if (url == nullptr) return false;
  CFStringRef ext = CFURLCopyPathExtension(url);
  CFRelease(url);
  if (ext == nullptr) return false;
  bool is_app = CFStringCompare(ext, CFSTR("app"), kCFCompareCaseInsensitive) == kCFCompareEqualTo;
  CFRelease(ext);
  return is_app;
}

// Inside an app bundle we are the responsible process: a prompt without the key is fatal (TCC kill).
bool MayPrompt(CFStringRef usage_key, oc_tcc_result_t* out) {
  if (!InAppBundle()) return true;
  CFBundleRef main = CFBundleGetMainBundle();
  if (main != nullptr && CFBundleGetValueForInfoDictionaryKey(main, usage_key) != nullptr) return true;
  Set(out, OC_TCC_UNKNOWN, "missing-usage-description");
  return false;
}

// ---- media capture (microphone, camera) ----------------------------------------------------

int32_t FromAV(AVAuthorizationStatus s) {
  switch (s) {
    case AVAuthorizationStatusAuthorized: return OC_TCC_GRANTED;
    case AVAuthorizationStatusDenied: return OC_TCC_DENIED;
    case AVAuthorizationStatusRestricted: return OC_TCC_RESTRICTED;
    case AVAuthorizationStatusNotDetermined: return OC_TCC_NOT_DETERMINED;
  }
  return OC_TCC_UNKNOWN;
}

void MediaStatus(AVMediaType type, oc_tcc_result_t* out) {
  Set(out, FromAV([AVCaptureDevice authorizationStatusForMediaType:type]));
}

void MediaRequest(AVMediaType type, CFStringRef usage_key, dispatch_time_t deadline, oc_tcc_result_t* out) {
  if (!MayPrompt(usage_key, out)) return;
  auto pending = std::make_shared<Pending>();
  [AVCaptureDevice requestAccessForMediaType:type
                           completionHandler:^(BOOL granted) {
                             pending->flag = granted;
                             dispatch_semaphore_signal(pending->done);
                           }];
  if (!Wait(pending, deadline)) return Set(out, OC_TCC_UNKNOWN, "timeout");
  // "not granted" may be denied or restricted: the status says which.
  if (pending->flag) return Set(out, OC_TCC_GRANTED);
  MediaStatus(type, out);
}

// ---- speech recognition --------------------------------------------------------------------

int32_t FromSpeech(SFSpeechRecognizerAuthorizationStatus s) {
  switch (s) {
    case SFSpeechRecognizerAuthorizationStatusAuthorized: return OC_TCC_GRANTED;
    case SFSpeechRecognizerAuthorizationStatusDenied: return OC_TCC_DENIED;
    case SFSpeechRecognizerAuthorizationStatusRestricted: return OC_TCC_RESTRICTED;
    case SFSpeechRecognizerAuthorizationStatusNotDetermined: return OC_TCC_NOT_DETERMINED;
  }
  return OC_TCC_UNKNOWN;
}

void SpeechStatus(oc_tcc_result_t* out) {
  if (@available(macOS 10.15, *)) {
    Set(out, FromSpeech([SFSpeechRecognizer authorizationStatus]));
  } else {
    Set(out, OC_TCC_UNKNOWN, "requires-macos-10.15");
  }
}

void SpeechRequest(dispatch_time_t deadline, oc_tcc_result_t* out) {
  if (@available(macOS 10.15, *)) {
    if (!MayPrompt(CFSTR("NSSpeechRecognitionUsageDescription"), out)) return;
    auto pending = std::make_shared<Pending>();
    [SFSpeechRecognizer requestAuthorization:^(SFSpeechRecognizerAuthorizationStatus status) {
      pending->value = static_cast<long>(status);
      dispatch_semaphore_signal(pending->done);
    }];
    if (!Wait(pending, deadline)) return Set(out, OC_TCC_UNKNOWN, "timeout");
    Set(out, FromSpeech(static_cast<SFSpeechRecognizerAuthorizationStatus>(pending->value)));
  } else {
    Set(out, OC_TCC_UNKNOWN, "requires-macos-10.15");
  }
}

// ---- notifications -------------------------------------------------------------------------

void FromNotifications(UNAuthorizationStatus s, oc_tcc_result_t* out) {
  switch (s) {
    case UNAuthorizationStatusAuthorized: return Set(out, OC_TCC_GRANTED);
    case UNAuthorizationStatusDenied: return Set(out, OC_TCC_DENIED);
    case UNAuthorizationStatusNotDetermined: return Set(out, OC_TCC_NOT_DETERMINED);
    case UNAuthorizationStatusProvisional: return Set(out, OC_TCC_GRANTED, "provisional");
    default: return Set(out, OC_TCC_UNKNOWN, "unrecognised-status", static_cast<OSStatus>(s));
  }
}

void NotificationsStatus(dispatch_time_t deadline, oc_tcc_result_t* out) {
  if (!InAppBundle()) return Set(out, OC_TCC_UNKNOWN, "no-app-bundle");
  auto pending = std::make_shared<Pending>();
  [[UNUserNotificationCenter currentNotificationCenter]
      getNotificationSettingsWithCompletionHandler:^(UNNotificationSettings* settings) {
        pending->value = static_cast<long>(settings.authorizationStatus);
        dispatch_semaphore_signal(pending->done);
      }];
  if (!Wait(pending, deadline)) return Set(out, OC_TCC_UNKNOWN, "timeout");
  FromNotifications(static_cast<UNAuthorizationStatus>(pending->value), out);
}

void NotificationsRequest(dispatch_time_t deadline, oc_tcc_result_t* out) {
  if (!InAppBundle()) return Set(out, OC_TCC_UNKNOWN, "no-app-bundle");
  auto pending = std::make_shared<Pending>();
  UNAuthorizationOptions options = UNAuthorizationOptionAlert | UNAuthorizationOptionSound | UNAuthorizationOptionBadge;
  [[UNUserNotificationCenter currentNotificationCenter]
      requestAuthorizationWithOptions:options
                    completionHandler:^(BOOL granted, NSError* error) {
                      pending->flag = granted;
                      pending->value = error != nil ? static_cast<long>(error.code) : 0;
                      dispatch_semaphore_signal(pending->done);
                    }];
  if (!Wait(pending, deadline)) return Set(out, OC_TCC_UNKNOWN, "timeout");
  if (pending->flag) return Set(out, OC_TCC_GRANTED);
  if (pending->value != 0) return Set(out, OC_TCC_UNKNOWN, "request-failed", static_cast<OSStatus>(pending->value));
  NotificationsStatus(deadline, out);  // refused now, or earlier: the settings say which
}

// ---- screen recording and accessibility (yes/no only) --------------------------------------

void ScreenRecording(bool request, oc_tcc_result_t* out) {
  // CGRequestScreenCaptureAccess shows the system prompt at most once per app and returns at once; a grant
  // made in System Settings takes effect only after the app relaunches.
  bool granted = request ? CGRequestScreenCaptureAccess() : CGPreflightScreenCaptureAccess();
  if (granted) return Set(out, OC_TCC_GRANTED);
  Set(out, OC_TCC_UNKNOWN, "not-granted (macOS does not tell never-asked from refused)");
}

void Accessibility(bool request, oc_tcc_result_t* out) {
  bool trusted;
  if (request) {
    const void* keys[] = {kAXTrustedCheckOptionPrompt};
    const void* values[] = {kCFBooleanTrue};
    CFDictionaryRef options = CFDictionaryCreate(kCFAllocatorDefault, keys, values, 1, &kCFTypeDictionaryKeyCallBacks,
                                                 &kCFTypeDictionaryValueCallBacks);
    if (options == nullptr) return Set(out, OC_TCC_UNKNOWN, "out-of-memory");
    trusted = AXIsProcessTrustedWithOptions(options);
    CFRelease(options);
  } else {
    trusted = AXIsProcessTrusted();
  }
  if (trusted) return Set(out, OC_TCC_GRANTED);
  Set(out, OC_TCC_UNKNOWN, "not-granted (macOS does not tell never-asked from refused)");
}

// ---- Apple Events automation ---------------------------------------------------------------

bool ValidBundleId(const char* id) {
  size_t len = strnlen(id, 256);
  if (len == 0 || len > 255) return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// AEDeterminePermissionToAutomateTarget can block (on the target, or on the user when asking), so it runs
// on a private queue and the wait is bounded; a late answer is dropped and the block frees the descriptor.
void AppleEvents(const char* bundle_id, bool ask, dispatch_time_t deadline, oc_tcc_result_t* out) {
  if (ask && !MayPrompt(CFSTR("NSAppleEventsUsageDescription"), out)) return;
  AEAddressDesc target = {typeNull, nullptr};
  OSErr made = AECreateDesc(typeApplicationBundleID, bundle_id, static_cast<Size>(strlen(bundle_id)), &target);
  if (made != noErr) return Set(out, OC_TCC_UNKNOWN, "failed", made);
  auto pending = std::make_shared<Pending>();
  dispatch_async(dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), ^{
    AEAddressDesc desc = target;
    pending->value = AEDeterminePermissionToAutomateTarget(&desc, typeWildCard, typeWildCard, ask);
    AEDisposeDesc(&desc);
    dispatch_semaphore_signal(pending->done);
  });
  if (!Wait(pending, deadline)) return Set(out, OC_TCC_UNKNOWN, "timeout");
  OSStatus st = static_cast<OSStatus>(pending->value);
  switch (st) {
    case noErr: return Set(out, OC_TCC_GRANTED);
    case errAEEventWouldRequireUserConsent: return Set(out, OC_TCC_NOT_DETERMINED, "", st);
    case errAEEventNotPermitted: return Set(out, OC_TCC_DENIED, "", st);
    case procNotFound: return Set(out, OC_TCC_UNKNOWN, "target-not-running", st);
    case kAETargetAddressNotPermitted: return Set(out, OC_TCC_UNKNOWN, "target-not-accessible", st);
    default: return Set(out, OC_TCC_UNKNOWN, "failed", st);
  }
}

int Run(const char* permission, const char* target_bundle_id, int32_t timeout_ms, bool request, oc_tcc_result_t* out) {
  if (out == nullptr) return EINVAL;
  Permission which;
  if (!ParsePermission(permission, &which)) return EINVAL;
  const char* automation_target = target_bundle_id != nullptr ? target_bundle_id : kDefaultAutomationTarget;
  if (which == Permission::kAppleScript && !ValidBundleId(automation_target)) return EINVAL;
  // One deadline for the whole call, however many waits it takes.
  const dispatch_time_t deadline = Deadline(timeout_ms);
  @autoreleasepool {
    @try {
      switch (which) {
        case Permission::kNotifications:
          request ? NotificationsRequest(deadline, out) : NotificationsStatus(deadline, out);
          break;
        case Permission::kScreenRecording: ScreenRecording(request, out); break;
        case Permission::kMicrophone:
          request ? MediaRequest(AVMediaTypeAudio, CFSTR("NSMicrophoneUsageDescription"), deadline, out)
                  : MediaStatus(AVMediaTypeAudio, out);
          break;
        case Permission::kCamera:
          request ? MediaRequest(AVMediaTypeVideo, CFSTR("NSCameraUsageDescription"), deadline, out)
                  : MediaStatus(AVMediaTypeVideo, out);
          break;
        case Permission::kSpeech: request ? SpeechRequest(deadline, out) : SpeechStatus(out); break;
        case Permission::kAppleScript: AppleEvents(automation_target, request, deadline, out); break;
        case Permission::kAccessibility: Accessibility(request, out); break;
      }
    } @catch (id exception) {
      // Never let an NSException unwind into N-API frames.
      Set(out, OC_TCC_UNKNOWN, "objc-exception");
      return EIO;
    }
  }
  return 0;
}

}  // namespace

int oc_tcc_status(const char* permission, const char* target_bundle_id, int32_t timeout_ms, oc_tcc_result_t* out) {
  return Run(permission, target_bundle_id, timeout_ms, false, out);
}

int oc_tcc_request(const char* permission, const char* target_bundle_id, int32_t timeout_ms, oc_tcc_result_t* out) {
  return Run(permission, target_bundle_id, timeout_ms, true, out);
}
