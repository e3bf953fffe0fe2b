#include "infra/runtime.h"

#include "absl/synchronization/mutex.h"

namespace cityhub::infra {

void TuneRuntime() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace cityhub::infra
