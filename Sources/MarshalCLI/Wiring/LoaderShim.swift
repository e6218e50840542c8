import MarshalLoading

enum MarshalLoadingShim {
    static var loader: Loader { Loader() }
}
