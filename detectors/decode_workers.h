// DecodeWorkers: threads lent to an Engine so that OfferBatch() decodes large batches on
// several cores while the engine's own thread applies the records already decoded. The engine
// has no threads; whoever owns it (the daemon) implements this, tests with plain threads.
//
// Decoding is a pure function of the record and the rules' decoder options, and records are
// applied in order on the engine's thread, so results never depend on the workers.
#ifndef ABUSEWATCH_DETECTORS_DECODE_WORKERS_H_
#define ABUSEWATCH_DETECTORS_DECODE_WORKERS_H_

#include <functional>

namespace abusewatch {

class DecodeWorkers {
 public:
  virtual ~DecodeWorkers() = default;
  // Number of threads Start() runs work on; at least 1, constant.
  virtual int size() const = 0;
  // Runs (*work)(w) once for each w in [0, size()), each on its own thread, and returns without
  // waiting. `*work` does not throw and stays valid until Wait() returns. Called from the
  // engine's thread only, never again before Wait().
  virtual void Start(const std::function<void(int)>* work) = 0;
  // Returns once every (*work)(w) of the last Start() has returned. Must not throw.
  virtual void Wait() = 0;
  // Called by the engine's thread while it waits for a chunk a worker is decoding, after it
  // has spun for a while: may give up the CPU (the worker may be waiting for one).
  virtual void Relax() = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DECODE_WORKERS_H_
