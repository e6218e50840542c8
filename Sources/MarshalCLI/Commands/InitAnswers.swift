import ArgumentParser

// What `marshal init` asks, in the sections its --help shows. A value left out is asked for on a
// terminal, or takes the default written beside it in the generated files.
extension MarshalCommand.Init {
    struct SSHAnswers: ParsableArguments {
        @Option(help: "SSH login user.")
        var user: String?

        @Option(help: "SSH private key (a relative path is read beside the environment file).", completion: .file())
        var identity: String?

        @Option(help: "known_hosts file.", completion: .file())
        var knownHosts: String?
    }

    struct ApplicationAnswers: ParsableArguments {
        @Option(help: "Where release tarballs app-RELEASE.tar.gz are on this machine.", completion: .directory)
        var artifactDir: String = "build"

        @Option(help: "The application folder on the hosts.")
        var appDir: String?

        @Option(help: "The URL the application answers on.")
        var baseURL: String?

        @Option(help: "The health check path.")
        var healthPath: String = "/health"
    }

    struct ServiceAnswers: ParsableArguments {
        @Option(help: "pm2, systemd or supervisor.", completion: .list(["pm2", "systemd", "supervisor"]))
        var manager: String?

        @Option(help: "The program or unit name.")
        var service: String?

        @Option(help: "supervisord's config file on the hosts (with --manager supervisor).")
        var supervisorConfig: String?
    }

    struct DatabaseAnswers: ParsableArguments {
        @Option(help: "The database host as NAME=ADDRESS[:PORT] (adds a backup before the release).")
        var dbHost: String?

        @Option(help: "A file holding the database URL (a secret; with --db-host).", completion: .file())
        var databaseURLFile: String?
    }
}
