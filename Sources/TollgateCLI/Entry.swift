import ArgumentParser
import Gateway

@main
enum Entry {
    static func main() async {
        // Swift concurrency runs on the gateway's own event loops, so a cache miss does not
        // hop between thread pools on its way to the upstream and back. First thing, before
        // any task is started.
        ExecutorTakeover.install()
        await Tollgate.main()
    }
}
