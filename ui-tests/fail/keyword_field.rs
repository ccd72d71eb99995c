// A keyword as a field name is one error that says how to write it; the rest still compiles.
wskit::protocol! {
    protocol Tags {
        message Tag { type: String, label: String }
        rpc Find(match: String) -> Found { count: u32 }
    }
}

fn main() {}
