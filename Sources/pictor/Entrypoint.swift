import App
import Domain
import Foundation
import Logging
import Vapor

/// Reads the configuration, bootstraps logging, configures and runs the
/// command (`serve` by default, `migrate`, `routes`, …).
@main
enum Entrypoint {
    static func main() async throws {
        TaskThreads.runOnEventLoops()
        let config: AppConfig
        do {
            let dotEnv = try? String(contentsOfFile: ".env", encoding: .utf8)
            config = try AppConfig.load(environment: ProcessInfo.processInfo.environment, dotEnv: dotEnv)
        } catch {
            FileHandle.standardError.write(Data("pictor: configuration error: \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        let environment = try Environment.detect()
        LoggingSystem.bootstrap { label in
            PictorLogHandler(label: label, level: config.logLevel.swiftLogLevel, format: config.logFormat)
        }

        let app = try await Application.make(environment)
        do {
            try await configure(app, config: config)
            try await app.execute()
        } catch {
            // Report and exit non-zero; rethrowing from main would crash the process.
            FileHandle.standardError.write(Data("pictor: \(error)\n".utf8))
            app.logger.report(error: error)
            try? await app.asyncShutdown()
            exit(1)
        }
        try await app.asyncShutdown()
    }
}
