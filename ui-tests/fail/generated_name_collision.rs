wskit::protocol! {
    protocol Chat {
        message ChatClient { id: String }
        message Join {} meta { trace: String }
        type JoinMeta { x: String }
        message Events {}
    }
}

fn main() {}
