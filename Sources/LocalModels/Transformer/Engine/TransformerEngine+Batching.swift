/// The engine thread: admit requests at step boundaries, run one batched step, retire the
/// sequences that finished.
extension TransformerEngine {
    func workLoop() {
        var running: [GenerationRun<Predictor>] = []
        // KV memory set aside for the running sequences at their longest; engine thread only.
        var committed = 0
        while let admission = admit(running: running.count, committed: committed) {
            for (job, error) in admission.refused { job.emit(.failed(error)) }
            for (job, reservedBytes) in admission.admitted {
                let run = GenerationRun(job: job, predictor: predictor, tokenizer: tokenizer, reservedBytes: reservedBytes)
                if let error = run.start() {
                    retire(run, .failure(error), running: running.count)
                } else {
                    running.append(run)
                    committed += reservedBytes
                }
            }
            step(&running, committed: &committed)
        }
    }

    /// Waits for work, then takes queued requests while the batch and the KV memory have room, in
    /// the queue's (fair) order: a request that does not fit yet stops admission rather than
    /// letting later ones pass it, so it is not starved. Nil when the engine has stopped and
    /// nothing is left to run.
    private func admit(running: Int, committed: Int) -> Admission? {
        condition.lock()
        defer { condition.unlock() }
        while running == 0 && queue.isEmpty && !stopping { condition.wait() }
        if running == 0 && queue.isEmpty { return nil }
        var admission = Admission()
        for job in queue.removeAll(where: { $0.ticket.isCancelled }) {
            admission.refused.append((job, GenerationRun<Predictor>.cancelled))
        }
        var committed = committed
        let capacity = predictor.kvCapacityBytes
        let maxBatch = max(1, configuration.maxBatch)
        while running + admission.admitted.count < maxBatch, let job = queue.first {
            if let error = GenerationRun.refusal(of: job.request, predictor: predictor) {
                _ = queue.pop()
                admission.refused.append((job, error))
                continue
            }
            let bytes = predictor.kvBytes(positions: GenerationRun.longest(job.request, predictor: predictor))
            guard committed + bytes <= capacity else { break }
            _ = queue.pop()
            admission.admitted.append((job, bytes))
            committed += bytes
        }
        statistics.requestsFailed += admission.refused.count
        statistics.running = running + admission.admitted.count
        return admission
    }

    /// One batched forward pass: the next token of every decoding sequence and the next prompt
    /// chunk of the earliest joining one, then each sequence samples from its own logits.
    private func step(_ running: inout [GenerationRun<Predictor>], committed: inout Int) {
        func leave(_ index: Int, _ outcome: Result<GenerationSummary, EngineError>) {
            let run = running.remove(at: index)
            committed -= run.reservedBytes
            retire(run, outcome, running: running.count)
        }
        for index in running.indices.reversed() where running[index].job.ticket.isCancelled {
            leave(index, .failure(GenerationRun<Predictor>.cancelled))
        }
        var members = running.filter { $0.phase == .decoding }
        let budget = max(1, configuration.prefillChunk - members.count)
        if let joining = running.first(where: { $0.phase == .prefilling }) { members.append(joining) }
        guard !members.isEmpty else { return }

        var inputs = members.map { $0.input(prefillBudget: budget) }
        var progress: [GenerationRun<Predictor>.Progress]
        do {
            try predictor.evaluate(batch: &inputs)
            progress = zip(members, inputs).map { $0.advance(after: $1) }
        } catch where inputs.count > 1 {
            // The batch changed nothing: each sequence alone, so one at fault fails by itself.
            progress = zip(members, inputs).map { run, input in
                var alone = [input]
                do {
                    try predictor.evaluate(batch: &alone)
                    return run.advance(after: alone[0])
                } catch {
                    return run.failure(error)
                }
            }
        } catch {
            progress = [members[0].failure(error)]
        }
        for (run, outcome) in zip(members, progress) {
            guard case .done(let result) = outcome, let index = running.firstIndex(where: { $0 === run }) else {
                continue
            }
            leave(index, result)
        }
    }

    /// Gives the sequence's memory back (offering it to the prefix cache), counts the outcome and
    /// reports it.
    private func retire(_ run: GenerationRun<Predictor>, _ outcome: Result<GenerationSummary, EngineError>, running: Int) {
        run.close()
        condition.lock()
        statistics.running = running
        switch outcome {
        case .success(let summary):
            statistics.requestsCompleted += 1
            statistics.promptTokens += summary.promptTokens
            statistics.cachedPromptTokens += summary.cachedPromptTokens
            statistics.completionTokens += summary.completionTokens
            statistics.prefillSeconds += summary.prefillSeconds
            statistics.decodeSeconds += summary.decodeSeconds
            statistics.sumLogProbability += summary.sumLogProbability
        case .failure:
            statistics.requestsFailed += 1
        }
        condition.unlock()
        switch outcome {
        case .success(let summary): run.job.emit(.finished(summary))
        case .failure(let error): run.job.emit(.failed(error))
        }
    }
}
