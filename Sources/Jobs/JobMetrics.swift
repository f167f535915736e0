import CoreMetrics

/// What the runner reports, through the metrics factory it is given (the server's Prometheus
/// registry; swift-metrics' global one by default). Counters are this process's own; the
/// queued and running gauges are read from the small table workers claim from, never from
/// the history.
struct JobMetrics: Sendable {
    let factory: any MetricsFactory

    func completed(_ job: Job) {
        Counter(label: "clientele_jobs_completed_total", dimensions: [("kind", job.kind)], factory: factory).increment()
    }

    /// An attempt failed and will be retried.
    func failed(_ job: Job) {
        Counter(label: "clientele_jobs_failed_total", dimensions: [("kind", job.kind)], factory: factory).increment()
    }

    func discarded(_ job: Job) {
        Counter(label: "clientele_jobs_discarded_total", dimensions: [("kind", job.kind)], factory: factory).increment()
    }

    func rescued(_ count: Int) {
        Counter(label: "clientele_jobs_rescued_total", factory: factory).increment(by: count)
    }

    /// The wait from the job's due time to its start.
    func started(_ job: Job) {
        Timer(label: "clientele_job_start_delay", dimensions: [("kind", job.kind)], factory: factory)
            .recordNanoseconds(Int64(job.waited * 1e9))
    }

    func pending(queued: Int, running: Int) {
        Gauge(label: "clientele_jobs_queued", factory: factory).record(queued)
        Gauge(label: "clientele_jobs_running", factory: factory).record(running)
    }
}
