//! Fuzz target: any text parses or errors without panicking, and what parses prints to text
//! that parses back to the same printed form (parse → emit → parse → emit is stable).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = flotilla_yaml::from_str(text);
    if let Ok(docs) = flotilla_yaml::from_str_multi(text) {
        let printed = flotilla_yaml::to_string_multi(&docs);
        let opts = flotilla_yaml::ParseOptions {
            kyaml_round_trip: false,
            ..Default::default()
        };
        let again = flotilla_yaml::from_str_multi_with(&printed, &opts)
            .unwrap_or_else(|e| panic!("printed output does not parse: {e}\n{printed}"));
        assert_eq!(flotilla_yaml::to_string_multi(&again), printed);
    }
});
